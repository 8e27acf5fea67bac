namespace StableAlignment.Storage;

/// <summary>Answers whether the store can be reached (health checks).</summary>
public interface IStoreProbe
{
    Task PingAsync(CancellationToken cancellationToken = default);
}
