namespace StableAlignment.Hosting;

/// <summary>A message that can never be processed (missing or bad fields). Not retried: it faults to the error queue.</summary>
public sealed class InvalidMessageException(string message) : Exception(message);
