// Licensed under the MIT license.
// What `dotnet pack` at the repository root produced: one package, with the runtime library, the Release generator as
// an analyzer, the build files, and no dependencies.

using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Package.Tests;

public sealed class PackageLayoutTests(PackageFixture package)
{
    [Fact]
    public void Packing_the_solution_makes_exactly_one_package()
    {
        string[] files = Directory.GetFiles(package.Feed).Select(Path.GetFileName).ToArray()!;
        Assert.True(files.SequenceEqual([$"ModelGen.{package.Version}.nupkg"]),
            $"Expected only ModelGen.{package.Version}.nupkg in the feed, found: {string.Join(", ", files)}.\n{package.PackResult}");
    }

    [Fact]
    public void The_package_holds_the_runtime_the_generator_and_the_build_files()
    {
        using ZipArchive zip = ZipFile.OpenRead(package.PackagePath);
        string[] entries = zip.Entries.Select(e => e.FullName).Where(n => !IsPackagingPart(n)).Order(StringComparer.Ordinal).ToArray();
        string[] expected =
        [
            "ModelGen.nuspec",
            "README.md",
            "analyzers/dotnet/cs/ModelGen.Generator.dll",
            "build/ModelGen.props",
            "build/ModelGen.targets",
            "buildTransitive/ModelGen.props",
            "buildTransitive/ModelGen.targets",
            "lib/net10.0/ModelGen.Runtime.dll",
            "lib/net10.0/ModelGen.Runtime.xml",
            "lib/net8.0/ModelGen.Runtime.dll",
            "lib/net8.0/ModelGen.Runtime.xml",
            "lib/net9.0/ModelGen.Runtime.dll",
            "lib/net9.0/ModelGen.Runtime.xml",
        ];
        Assert.Equal(expected, entries);
        foreach (string folder in new[] { "build", "buildTransitive" })
        {
            foreach (string file in new[] { "ModelGen.props", "ModelGen.targets" })
            {
                byte[] source = File.ReadAllBytes(Path.Combine(Paths.RepoRoot, "generator", "build", file));
                Assert.True(source.AsSpan().SequenceEqual(Read(zip, $"{folder}/{file}")), $"{folder}/{file} differs from generator/build/{file}");
            }
        }
    }

    [Fact]
    public void The_packed_generator_is_the_Release_build_this_pack_made()
    {
        using ZipArchive zip = ZipFile.OpenRead(package.PackagePath);
        byte[] packed = Read(zip, "analyzers/dotnet/cs/ModelGen.Generator.dll");
        // The pack built the generator into its --artifacts-path; the package must carry that file, not one found
        // at a fixed bin/<Configuration> path (which would be stale here).
        string built = Path.Combine(package.Artifacts, "bin", "ModelGen.Generator", "release", "ModelGen.Generator.dll");
        Assert.True(File.Exists(built), $"{built} is missing.\n{package.PackResult}");
        Assert.True(File.ReadAllBytes(built).AsSpan().SequenceEqual(packed), $"The packed generator is not {built}");

        using var pe = new PEReader(new MemoryStream(packed));
        MetadataReader md = pe.GetMetadataReader();
        string? configuration = null;
        int? debuggingModes = null;
        foreach (CustomAttributeHandle handle in md.GetAssemblyDefinition().GetCustomAttributes())
        {
            CustomAttribute attribute = md.GetCustomAttribute(handle);
            BlobReader value = md.GetBlobReader(attribute.Value);
            value.ReadUInt16(); // prolog 0x0001
            switch (AttributeTypeName(md, attribute))
            {
                case "AssemblyConfigurationAttribute": configuration = value.ReadSerializedString(); break;
                case "DebuggableAttribute" when value.RemainingBytes >= 4: debuggingModes = value.ReadInt32(); break;
            }
        }
        Assert.Equal("Release", configuration);
        const int DisableOptimizations = 0x100; // DebuggableAttribute.DebuggingModes.DisableOptimizations
        Assert.True(debuggingModes is int modes && (modes & DisableOptimizations) == 0, $"DebuggingModes = {debuggingModes}: not optimized");
    }

    [Fact]
    public void The_package_declares_no_dependencies_and_is_not_a_development_dependency()
    {
        using ZipArchive zip = ZipFile.OpenRead(package.PackagePath);
        XDocument nuspec = XDocument.Load(new MemoryStream(Read(zip, "ModelGen.nuspec")));
        XNamespace ns = nuspec.Root!.Name.Namespace;
        XElement metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal("ModelGen", metadata.Element(ns + "id")?.Value);
        Assert.Equal(package.Version, metadata.Element(ns + "version")?.Value);
        // One empty group per target framework: the frameworks are declared, nothing is pulled in.
        XElement[] groups = metadata.Element(ns + "dependencies")?.Elements(ns + "group").ToArray() ?? [];
        Assert.Equal(new[] { "net10.0", "net8.0", "net9.0" }, groups.Select(g => g.Attribute("targetFramework")?.Value));
        Assert.DoesNotContain(metadata.Descendants(), e => e.Name.LocalName is "dependency" or "frameworkReference" or "reference");
        // The generated classes call ModelGen.Runtime at run time, so the package must flow to dependent projects.
        Assert.NotEqual("true", metadata.Element(ns + "developmentDependency")?.Value);
    }

    private static bool IsPackagingPart(string name) =>
        name is "[Content_Types].xml" || name.StartsWith("_rels/", StringComparison.Ordinal) || name.StartsWith("package/", StringComparison.Ordinal);

    private static byte[] Read(ZipArchive zip, string entryName)
    {
        ZipArchiveEntry entry = zip.GetEntry(entryName) ?? throw new FileNotFoundException($"{entryName} is not in the package");
        using Stream stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string AttributeTypeName(MetadataReader md, CustomAttribute attribute)
    {
        EntityHandle type = attribute.Constructor.Kind switch
        {
            HandleKind.MemberReference => md.GetMemberReference((MemberReferenceHandle)attribute.Constructor).Parent,
            HandleKind.MethodDefinition => md.GetMethodDefinition((MethodDefinitionHandle)attribute.Constructor).GetDeclaringType(),
            _ => default,
        };
        return type.Kind switch
        {
            HandleKind.TypeReference => md.GetString(md.GetTypeReference((TypeReferenceHandle)type).Name),
            HandleKind.TypeDefinition => md.GetString(md.GetTypeDefinition((TypeDefinitionHandle)type).Name),
            _ => "",
        };
    }
}
