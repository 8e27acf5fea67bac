using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace StableAlignment.Tests;

/// <summary>
/// TorchSharp 0.107 frees a Scalar only in its finalizer and holds no reference to it during the native call, so a
/// number converted implicitly where a Scalar is expected can be collected while libtorch reads it: the sporadic
/// "Unknown scalar type" seen under parallel load. The project's code holds every Scalar (a static field or
/// <c>using var</c>); this reads the compiled code of every project assembly the tests load and fails on any call to
/// the implicit conversion.
/// </summary>
public sealed class ImplicitScalarTests
{
    [Fact]
    public void No_project_assembly_converts_a_number_to_a_TorchSharp_Scalar_implicitly()
    {
        var assemblies = Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll")
            .Where(p => Path.GetFileName(p) is var n && (n.StartsWith("StableAlignment.", StringComparison.Ordinal) || n == "sa.dll")
                && !n.EndsWith(".Tests.dll", StringComparison.Ordinal) && n != "StableAlignment.Testing.dll")
            .ToList();
        Assert.Contains(assemblies, p => p.EndsWith("StableAlignment.Learning.dll", StringComparison.Ordinal));
        Assert.Contains(assemblies, p => p.EndsWith("StableAlignment.ModelServer.dll", StringComparison.Ordinal));
        var found = assemblies.SelectMany(ImplicitScalars).ToList();
        Assert.True(found.Count == 0, "implicit Scalar conversions (hold the Scalar with using var): " + string.Join(", ", found));
    }

    /// <summary>The scan finds the conversion where it is: this test's own assembly has one, on purpose.</summary>
    [Fact]
    public void The_scan_finds_an_implicit_conversion()
    {
        Assert.Contains($"{nameof(ImplicitScalarTests)}.{nameof(Converts)}", ImplicitScalars(typeof(ImplicitScalarTests).Assembly.Location));
    }

    private static TorchSharp.Scalar Converts(double value) => value;

    /// <summary>"Type.Method" of each method body that calls TorchSharp.Scalar's op_Implicit.</summary>
    private static IEnumerable<string> ImplicitScalars(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var conversions = metadata.MemberReferences
            .Where(h => metadata.GetMemberReference(h) is var m && metadata.GetString(m.Name) == "op_Implicit"
                && m.Parent.Kind == HandleKind.TypeReference && metadata.GetTypeReference((TypeReferenceHandle)m.Parent) is var t
                && metadata.GetString(t.Name) == "Scalar" && metadata.GetString(t.Namespace) == "TorchSharp")
            .Select(h => MetadataTokens.GetToken(h))
            .ToHashSet();
        var found = new List<string>();
        foreach (var type in metadata.TypeDefinitions.Select(metadata.GetTypeDefinition))
        {
            foreach (var method in type.GetMethods().Select(metadata.GetMethodDefinition).Where(m => m.RelativeVirtualAddress != 0))
            {
                var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILBytes()!;
                // 0x28 is "call <token>"; a stray byte pair matching a conversion token is not a risk worth a decoder.
                if (Enumerable.Range(0, Math.Max(0, il.Length - 4)).Any(i => il[i] == 0x28 && conversions.Contains(BitConverter.ToInt32(il, i + 1))))
                {
                    found.Add($"{metadata.GetString(type.Name)}.{metadata.GetString(method.Name)}");
                }
            }
        }

        return found;
    }
}
