using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;

namespace StableAlignment.Trainer;

/// <summary>
/// Lets a CPU trainer step aside for a GPU trainer. With <c>Trainer:StandbyWhenPresent</c> naming a host (compose's
/// <c>trainer-gpu</c>), a trainer that can resolve that name at start-up consumes nothing and resumes nothing: it
/// only serves the training API (requests go onto the bus, job state is read from the shared checkpoint volume),
/// so <c>docker compose --profile gpu up</c> trains on the GPU alone instead of two trainers competing for one queue.
/// </summary>
public static class TrainerStandby
{
    public static bool ShouldStandBy(IConfiguration configuration, TimeSpan? wait = null)
    {
        var host = configuration[$"{TrainerOptions.Section}:StandbyWhenPresent"];
        if (string.IsNullOrWhiteSpace(host))
        {
            return false;
        }

        // Both containers start when the broker is healthy; give the other one a moment to appear in DNS.
        var deadline = DateTime.UtcNow + (wait ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            try
            {
                if (Dns.GetHostAddresses(host).Length > 0)
                {
                    Console.WriteLine($"trainer: {host} is present; standing by (serving the API only, consuming no training work).");
                    return true;
                }
            }
            catch (SocketException)
            {
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            Thread.Sleep(500);
        }
    }
}
