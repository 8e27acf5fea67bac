using System.Runtime.InteropServices;
using TorchSharp;

namespace StableAlignment.Learning;

/// <summary>
/// Prepares libtorch once per process: OpenMP waits passively (spinning makes steps up to 10× slower on a busy
/// small machine) — set through libc so that the native library sees it, which Environment.SetEnvironmentVariable
/// does not achieve — and the thread count is fixed. The thread count is process-wide in libtorch, and CPU reductions
/// are bit-stable only while it stays the same: a process that runs several trainings at once (a test host, a server
/// with several jobs) pins it with <see cref="PinThreads"/>, after which <see cref="Initialize"/> keeps the pinned count.
/// </summary>
public static partial class TorchRuntime
{
    private static readonly Lock Gate = new();
    private static bool _ready;
    private static int _pinned;

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    public static void Initialize(int threads = 0)
    {
        lock (Gate)
        {
            if (!_ready)
            {
                if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null)
                {
                    SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0);
                }

                _ready = true;
            }

            torch.set_num_threads(_pinned > 0 ? _pinned : threads > 0 ? threads : Math.Max(1, Environment.ProcessorCount));
        }
    }

    /// <summary>Fixes the thread count for the rest of the process; later <see cref="Initialize"/> calls keep it.</summary>
    public static void PinThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        lock (Gate)
        {
            _pinned = threads;
        }

        Initialize(threads);
    }

    /// <summary>CUDA when the libtorch build and the machine have it, else the CPU.</summary>
    public static torch.Device DefaultDevice() => torch.cuda.is_available() ? torch.CUDA : torch.CPU;
}
