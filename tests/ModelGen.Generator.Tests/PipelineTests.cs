// Licensed under the MIT license.
// Generator-level guarantees: deterministic output, incremental caching, specs free of Roslyn objects, and worker parts
// shaped for the JIT.

using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ModelGen.Generator;
using ModelGen.Generator.Model;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Generator.Tests;

public sealed class PipelineTests
{
    [Fact]
    public void Same_model_and_profile_give_byte_identical_sources()
    {
        string path = Paths.SharedModel("squeezenet1.1.onnx");
        var first = GeneratorHarness.Run(path).Sources;
        var second = GeneratorHarness.Run(path).Sources;
        Assert.NotEmpty(first);
        Assert.Equal(first.Select(s => s.HintName), second.Select(s => s.HintName));
        for (int i = 0; i < first.Count; i++) Assert.Equal(first[i].Source, second[i].Source);
    }

    [Fact]
    public void Output_does_not_depend_on_the_current_culture()
    {
        string path = Paths.SharedModel("mnist-8.onnx");
        var invariant = GeneratorHarness.Run(path).Sources;
        var saved = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            // German uses ',' as the decimal separator; Arabic digits and signs differ too.
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            var german = GeneratorHarness.Run(path).Sources;
            Assert.Equal(invariant, german);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Editing_csharp_leaves_the_model_steps_cached()
    {
        string path = Paths.SharedModel("mnist-8.onnx");
        GeneratorRun run = GeneratorHarness.Run(path, metadata: null);
        GeneratorDriver driver = run.Driver;
        Compilation edited = run.OutputCompilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Unrelated { }", GeneratorHarness.ParseOptions));
        driver = driver.RunGenerators(edited);
        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        foreach (string step in new[] { ModelGenerator.TrackingNames.Requests, ModelGenerator.TrackingNames.Compiled })
        {
            var outputs = result.TrackedSteps[step].SelectMany(s => s.Outputs).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {o.Reason}"));
        }
    }

    [Fact]
    public void Changing_the_profile_or_class_metadata_recompiles()
    {
        string path = Paths.SharedModel("mnist-8.onnx");
        var a = GeneratorHarness.Run(path, new Dictionary<string, string> { ["ModelGenClass"] = "First" });
        var b = GeneratorHarness.Run(path, new Dictionary<string, string> { ["ModelGenClass"] = "Second" });
        Assert.Contains(a.Sources, s => s.HintName == "First.g.cs");
        Assert.Contains(b.Sources, s => s.HintName == "Second.g.cs");
        Assert.DoesNotContain(b.Sources, s => s.HintName.StartsWith("First.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("tv-efficientnet_b0.onnx")]
    [InlineData("ultraface-rfb-320.onnx")]
    [InlineData("yolox-nano.onnx")]
    public void Large_worker_parts_hold_the_code_of_one_isa(string model)
    {
        // The JIT keeps at most 1024 locals of a method in registers and counts the IL locals of the ISA branches it folds
        // away: EfficientNet-B0's 5x5 depthwise layers, unrolled for three ISAs in one part, kept their accumulators on the
        // stack (2.4x slower). Large unrolled loops take one part per ISA, chosen outside the part (EmitContext.ParallelForPerIsa).
        var parts = new List<(string Name, string Body)>();
        foreach ((string _, string source) in GeneratorHarness.Run(Paths.SharedModel(model)).Sources)
        {
            foreach (Match m in Regex.Matches(source, @"private static void (\w+_Part\d+)\(nint\* args[^\n]*\n        \{\n(.*?)\n        \}\n", RegexOptions.Singleline))
                parts.Add((m.Groups[1].Value, m.Groups[2].Value));
        }
        Assert.Contains(parts, p => p.Body.Length > 20_000);
        var offenders = parts.Where(p => p.Body.Length > 20_000 && p.Body.Contains(".IsSupported", StringComparison.Ordinal))
            .Select(p => $"{p.Name} ({p.Body.Length} chars)").ToList();
        Assert.Empty(offenders);
    }

    [Theory]
    [InlineData("yolox-nano.onnx")]
    [InlineData("ultraface-rfb-320.onnx")]
    [InlineData("squeezenet1.1.onnx")]
    public void Generated_methods_declare_few_enough_locals_for_the_jit(string model)
    {
        // The JIT keeps at most 1024 locals of a method in registers (its temporaries count too). YOLOX's banded Winograd
        // stem held the phase split, both unrolled transforms and the GEMM loop of a band in one worker part (345 `var`
        // declarations): past the limit, 1.8x slower. Each band step now has a method of its own (EmitContext.LayerStep);
        // the largest methods declare 185 (the one-band F(4x4) output transforms), and raising the JIT's limit to 0x2000
        // changes no model's time.
        const int Most = 250;
        var offenders = new List<string>();
        foreach ((string hint, string source) in GeneratorHarness.Run(Paths.SharedModel(model)).Sources)
        {
            foreach (Match m in Regex.Matches(source, @"private static void (\w+)\([^\n]*\n        \{\n(.*?)\n        \}\n", RegexOptions.Singleline))
            {
                int vars = Regex.Matches(m.Groups[2].Value, @"\bvar \w+ =").Count;
                if (vars > Most) offenders.Add($"{m.Groups[1].Value}: {vars}");
            }
        }
        Assert.Empty(offenders);
    }

    [Fact]
    public void Spec_graph_holds_no_roslyn_objects()
    {
        // Walks every property type reachable from ModelResult; Roslyn symbols or compilations would defeat caching.
        var seen = new HashSet<Type>();
        var offenders = new List<string>();
        Walk(typeof(ModelResult), "ModelResult", seen, offenders);
        Assert.Empty(offenders);
        Assert.Contains(typeof(GemmSpec), seen);
    }

    [Fact]
    public void Equal_inputs_give_equal_specs()
    {
        // The cacheability contract: the compiled step's output must compare equal across runs on the same bytes.
        string path = Paths.SharedModel("tv-mobilenet_v2.onnx");
        GeneratorRun run = GeneratorHarness.Run(path);
        GeneratorDriver driver = run.Driver.RunGenerators(run.OutputCompilation);
        var compiled = driver.GetRunResult().Results.Single().TrackedSteps[ModelGenerator.TrackingNames.Compiled];
        Assert.All(compiled.SelectMany(s => s.Outputs), o => Assert.NotEqual(IncrementalStepRunReason.Modified, o.Reason));
    }

    private static void Walk(Type type, string path, HashSet<Type> seen, List<string> offenders)
    {
        if (type.IsPrimitive || type == typeof(string) || type.IsEnum || !seen.Add(type)) return;
        if (type.Namespace?.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal) == true)
        {
            offenders.Add($"{path}: {type.FullName}");
            return;
        }
        if (type.IsGenericType)
        {
            foreach (Type arg in type.GetGenericArguments()) Walk(arg, path + "<" + arg.Name + ">", seen, offenders);
        }
        if (type.IsArray) Walk(type.GetElementType()!, path + "[]", seen, offenders);
        if (typeof(IEnumerable).IsAssignableFrom(type) && type.Namespace?.StartsWith("System", StringComparison.Ordinal) == true) return;
        foreach (PropertyInfo p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetIndexParameters().Length > 0) continue;
            Walk(p.PropertyType, path + "." + p.Name, seen, offenders);
        }
        // Kernel specs are polymorphic: walk every subtype declared in the generator assembly.
        if (type.IsAbstract)
        {
            foreach (Type sub in type.Assembly.GetTypes().Where(t => t.IsSubclassOf(type))) Walk(sub, path + "(" + sub.Name + ")", seen, offenders);
        }
    }
}
