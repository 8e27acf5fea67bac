using System.Runtime.CompilerServices;

namespace StableAlignment.Tests;

/// <summary>
/// libtorch's thread count is process-wide, and test classes run in parallel: a test that set its own count while
/// another trained would change that training's reductions mid-run. Pinned once for the whole test process, every
/// float that a test compares across two runs in this process is bit-stable by construction.
/// </summary>
internal static class TorchThreads
{
    [ModuleInitializer]
    internal static void Pin() => TorchRuntime.PinThreads(1);
}
