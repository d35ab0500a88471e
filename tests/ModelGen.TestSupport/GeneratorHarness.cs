// Licensed under the MIT license.
// Runs ModelGenerator in-process with CSharpGeneratorDriver (as the compiler would), compiles the result with the
// model embedded as a resource (as the build targets do), and loads it into a collectible AssemblyLoadContext.

using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;
using ModelGen.Generator;
using ModelGen.Runtime;

namespace ModelGen.TestSupport;

/// <summary>A model file handed to the generator, with its AdditionalFiles item metadata (ModelGenClass, ...).</summary>
public sealed record ModelInput(string Path, IReadOnlyDictionary<string, string>? Metadata = null);

/// <summary>The result of running the generator (and optionally compiling its output).</summary>
public sealed class GeneratorRun
{
    internal GeneratorRun(GeneratorDriver driver, GeneratorDriverRunResult result, Compilation output, IReadOnlyList<ModelInput> models)
    {
        Driver = driver;
        Result = result;
        OutputCompilation = output;
        Models = models;
    }

    public GeneratorDriver Driver { get; }
    public GeneratorDriverRunResult Result { get; }
    public Compilation OutputCompilation { get; }
    public IReadOnlyList<ModelInput> Models { get; }

    /// <summary>Diagnostics reported by the generator.</summary>
    public ImmutableArray<Diagnostic> Diagnostics => Result.Diagnostics;

    /// <summary>Generated files, by hint name, in generation order.</summary>
    public IReadOnlyList<(string HintName, string Source)> Sources =>
        Result.Results.SelectMany(r => r.GeneratedSources).Select(s => (s.HintName, s.SourceText.ToString())).ToList();

    /// <summary>Compiles the generated code (with the models embedded) and returns the errors, or the assembly bytes.</summary>
    public (byte[]? Assembly, ImmutableArray<Diagnostic> Errors) Emit()
    {
        var resources = Models.Select(m => new ResourceDescription(
            m.Metadata is not null && m.Metadata.TryGetValue("ModelGenResourceName", out string? name) && name.Length > 0
                ? name : "ModelGen." + System.IO.Path.GetFileName(m.Path),
            () => File.OpenRead(m.Path), isPublic: true)).ToArray();
        using var ms = new MemoryStream();
        EmitResult emit = OutputCompilation.Emit(ms, manifestResources: resources);
        var errors = emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
        return (emit.Success ? ms.ToArray() : null, errors);
    }

    /// <summary>
    /// Compiles the generated code as a .NET <paramref name="major"/> project would: against that framework's reference
    /// assemblies, with its default C# version, and with ModelGen.Runtime compiled from source for that framework; returns
    /// the errors. The reference pack comes from the NuGet packages folder, where restoring ModelGen.Runtime (net8.0,
    /// net9.0) put it.
    /// </summary>
    public ImmutableArray<Diagnostic> CompileFor(int major)
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string refRoot = System.IO.Path.Combine(packages, "microsoft.netcore.app.ref");
        string? pack = Directory.Exists(refRoot)
            ? Directory.GetDirectories(refRoot, major + ".*").OrderBy(d => d, StringComparer.Ordinal).LastOrDefault() : null;
        string tfm = $"net{major}.0";
        if (pack is null) throw new InvalidOperationException($"No Microsoft.NETCore.App.Ref {major}.x in {refRoot}: restore runtime/ (it targets {tfm}) first");
        var framework = Directory.GetFiles(System.IO.Path.Combine(pack, "ref", tfm), "*.dll")
            .Select(f => (MetadataReference)MetadataReference.CreateFromFile(f)).ToList();
        // ModelGen.Runtime from source, as its package builds it for this framework.
        var runtimeTrees = Directory.GetFiles(System.IO.Path.Combine(Paths.RepoRoot, "runtime"), "*.cs")
            .OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), new CSharpParseOptions(LanguageVersion.Latest), f));
        var runtime = CSharpCompilation.Create("ModelGen.Runtime", runtimeTrees, framework,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        var runtimeErrors = runtime.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
        if (!runtimeErrors.IsEmpty) return runtimeErrors;
        CSharpParseOptions parse = ParseOptionsFor(major);
        var trees = OutputCompilation.SyntaxTrees.Select(t => CSharpSyntaxTree.ParseText(t.GetText(), parse, t.FilePath));
        Compilation compilation = CSharpCompilation.Create("ModelGenCompat", trees, framework.Append(runtime.ToMetadataReference()),
            (CSharpCompilationOptions)OutputCompilation.Options);
        return compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
    }

    /// <summary>The C# version a .NET <paramref name="major"/> project compiles with by default.</summary>
    private static CSharpParseOptions ParseOptionsFor(int major) =>
        new(major switch { 8 => LanguageVersion.CSharp12, 9 => LanguageVersion.CSharp13, _ => LanguageVersion.Latest });

    /// <summary>Compiles and loads the generated assembly; throws with the compiler errors when it does not compile.</summary>
    public LoadedAssembly Load()
    {
        (byte[]? bytes, ImmutableArray<Diagnostic> errors) = Emit();
        if (bytes is null)
        {
            throw new InvalidOperationException("Generated code does not compile:\n" + string.Join("\n", errors.Take(20)));
        }
        return new LoadedAssembly(bytes);
    }
}

/// <summary>A generated assembly loaded into a collectible context; Dispose unloads it.</summary>
public sealed class LoadedAssembly : IDisposable
{
    private readonly TestLoadContext _context;

    public LoadedAssembly(byte[] bytes)
    {
        _context = new TestLoadContext();
        Assembly = _context.LoadFromStream(new MemoryStream(bytes));
    }

    public Assembly Assembly { get; }

    /// <summary>Creates an instance of a generated model class.</summary>
    public ICompiledModel Create(string fullClassName)
    {
        Type type = Assembly.GetType(fullClassName) ?? throw new InvalidOperationException($"{fullClassName} was not generated");
        return (ICompiledModel)Activator.CreateInstance(type)!;
    }

    /// <summary>Creates an instance with the given degree of parallelism (the generated <c>(int)</c> constructor).</summary>
    public ICompiledModel Create(string fullClassName, int degreeOfParallelism) => CreateWith(fullClassName, degreeOfParallelism);

    /// <summary>Creates an instance with the given degree of parallelism and worker spin time (the generated <c>(int, TimeSpan)</c> constructor).</summary>
    public ICompiledModel Create(string fullClassName, int degreeOfParallelism, TimeSpan workerSpin) => CreateWith(fullClassName, degreeOfParallelism, workerSpin);

    private ICompiledModel CreateWith(string fullClassName, params object[] arguments)
    {
        Type type = Assembly.GetType(fullClassName) ?? throw new InvalidOperationException($"{fullClassName} was not generated");
        try
        {
            return (ICompiledModel)Activator.CreateInstance(type, arguments)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    public void Dispose() => _context.Unload();

    /// <summary>Resolves ModelGen.Runtime (and everything else) from the default context, so ICompiledModel is shared.</summary>
    private sealed class TestLoadContext : AssemblyLoadContext
    {
        public TestLoadContext() : base("modelgen-test", isCollectible: true) { }

        protected override Assembly? Load(AssemblyName assemblyName) => null;
    }
}

/// <summary>Drives the generator like the compiler does.</summary>
public static class GeneratorHarness
{
    private static readonly Lazy<MetadataReference[]> s_references = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(System.IO.Path.PathSeparator)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).ToList();
        string runtime = typeof(ICompiledModel).Assembly.Location;
        if (!paths.Contains(runtime)) paths.Add(runtime);
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
    });

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    /// <summary>Runs the generator on the given models (and optional user source) and returns the result.</summary>
    public static GeneratorRun Run(IEnumerable<ModelInput> models, string userSource = "", string rootNamespace = "TestApp",
        IReadOnlyDictionary<string, ReportDiagnostic>? diagnosticOptions = null)
    {
        var inputs = models.ToList();
        var texts = inputs.Select(m => (AdditionalText)new BinaryAdditionalText(m.Path)).ToImmutableArray();
        var options = new MetadataOptionsProvider(inputs, rootNamespace);
        var compilationOptions = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary,
            allowUnsafe: true, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Disable,
            specificDiagnosticOptions: diagnosticOptions);
        var compilation = CSharpCompilation.Create("ModelGenTest_" + Guid.NewGuid().ToString("N"),
            new[] { CSharpSyntaxTree.ParseText(userSource, ParseOptions) }, s_references.Value, compilationOptions);
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            new[] { new ModelGenerator().AsSourceGenerator() }, texts, ParseOptions, options,
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out _);
        var run = new GeneratorRun(driver, driver.GetRunResult(), output, inputs);
        // Debugging aid: MODELGEN_DUMP=<folder> writes every generated file there.
        if (Environment.GetEnvironmentVariable("MODELGEN_DUMP") is { Length: > 0 } dump)
        {
            Directory.CreateDirectory(dump);
            foreach ((string hint, string source) in run.Sources) File.WriteAllText(System.IO.Path.Combine(dump, hint), source);
        }
        return run;
    }

    public static GeneratorRun Run(string modelPath, IReadOnlyDictionary<string, string>? metadata = null) =>
        Run(new[] { new ModelInput(modelPath, metadata) });

    /// <summary>An AdditionalText for a binary file: like the compiler, GetText is not usable; the generator reads Path.</summary>
    public sealed class BinaryAdditionalText : AdditionalText
    {
        public BinaryAdditionalText(string path) => Path = path;

        public override string Path { get; }

        public override SourceText? GetText(CancellationToken cancellationToken = default) => null;
    }

    private sealed class MetadataOptionsProvider : AnalyzerConfigOptionsProvider
    {
        private readonly Dictionary<string, DictionaryOptions> _byPath = new();

        public MetadataOptionsProvider(IEnumerable<ModelInput> models, string rootNamespace)
        {
            foreach (ModelInput m in models)
            {
                var values = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (string key in new[] { "ModelGenClass", "ModelGenNamespace", "ModelGenProfile", "ModelGenInputShape", "ModelGenConstantInputs", "ModelGenResourceName", "ModelGenWinograd" })
                {
                    // Like MSBuild: unset metadata arrives as "".
                    values["build_metadata.AdditionalFiles." + key] = m.Metadata is not null && m.Metadata.TryGetValue(key, out string? v) ? v : "";
                }
                _byPath[m.Path] = new DictionaryOptions(values);
            }
            GlobalOptions = new DictionaryOptions(new Dictionary<string, string> { ["build_property.RootNamespace"] = rootNamespace });
        }

        public override AnalyzerConfigOptions GlobalOptions { get; }

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => DictionaryOptions.Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) =>
            _byPath.TryGetValue(textFile.Path, out DictionaryOptions? o) ? o : DictionaryOptions.Empty;
    }

    private sealed class DictionaryOptions : AnalyzerConfigOptions
    {
        public static readonly DictionaryOptions Empty = new(new Dictionary<string, string>());

        private readonly Dictionary<string, string> _values;

        public DictionaryOptions(Dictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value!);
    }
}
