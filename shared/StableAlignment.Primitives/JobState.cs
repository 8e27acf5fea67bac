using System.Text.Json;
using System.Text.Json.Serialization;

namespace StableAlignment.Primitives;

/// <summary>
/// The state of an accepted job (a dataset build, a training job, an evaluation), written in status files and API
/// answers in lower case: queued, running (building, for a dataset), reported (an evaluation's report is written and its event is owed), done,
/// failed; unknown when a status file cannot be read.
/// </summary>
[JsonConverter(typeof(JobStateConverter))]
public enum JobState
{
    Queued,
    Running,

    /// <summary>A dataset build at work (its word for running).</summary>
    Building,
    Reported,
    Done,
    Failed,
    Unknown,
}

/// <summary>
/// Writes and reads <see cref="JobState"/> as its lower-case name. A host's own enum converter takes precedence over a
/// type's attribute, so the records that carry a state name this converter on the property too.
/// </summary>
public sealed class JobStateConverter() : JsonStringEnumConverter<JobState>(JsonNamingPolicy.CamelCase, allowIntegerValues: false);
