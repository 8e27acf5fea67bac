using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace StableAlignment.Testing;

/// <summary>
/// Listens to the project's meter ("StableAlignment") and keeps, per instrument and tag filter, the running sum and
/// the highest sum seen (an up-down counter's peak), for measurements whose tags match.
/// </summary>
public sealed class MeterWatch : IDisposable
{
    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<string, (double Sum, double Peak)> _values = new();
    private readonly Func<string, IReadOnlyDictionary<string, object?>, bool> _accept;
    private readonly Lock _gate = new();

    /// <param name="accept">Which measurements count, by instrument name and tags; all when null.</param>
    public MeterWatch(Func<string, IReadOnlyDictionary<string, object?>, bool>? accept = null)
    {
        _accept = accept ?? ((_, _) => true);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "StableAlignment")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i.Name, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i.Name, v, tags));
        _listener.Start();
    }

    private void Add(string name, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>();
        foreach (var t in tags)
        {
            map[t.Key] = t.Value;
        }

        if (!_accept(name, map))
        {
            return;
        }

        lock (_gate)
        {
            var (sum, peak) = _values.GetValueOrDefault(name);
            sum += value;
            _values[name] = (sum, Math.Max(peak, sum));
        }
    }

    public double Sum(string instrument) => _values.GetValueOrDefault(instrument).Sum;

    public double Peak(string instrument) => _values.GetValueOrDefault(instrument).Peak;

    public void Dispose() => _listener.Dispose();
}
