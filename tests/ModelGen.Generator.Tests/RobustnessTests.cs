// Licensed under the MIT license.
// The generator against damaged real models: every truncation length in a deterministic sample, and seeded single-byte
// corruptions, of mnist-8 and squeezenet1.1. Whatever the bytes, the generator must not throw, must not crash
// (CS8785), must not report MG0900 (an internal error), and must end in either an MG error (and no source) or a class
// that compiles. Also: model-controlled names (node and tensor names) that could break the generated C#.
//
// Cost control (the whole file stays well under a minute on 2 cores): the generator runs for every case, but only the
// first few successful cases per model are compiled; the others are checked for syntax errors in the generated trees,
// which the driver has already parsed. Corruptions are aimed mostly at the structural bytes of the file (everything
// outside raw tensor payloads), since a changed weight value only changes numbers.

using Microsoft.CodeAnalysis;
using ModelGen.Generator.Onnx;
using ModelGen.Runtime;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Generator.Tests;

public sealed class RobustnessTests
{
    private const int Samples = 200;
    private const int CompileCap = 3;

    [Theory]
    [InlineData("mnist-8.onnx")]
    [InlineData("squeezenet1.1.onnx")]
    public void Truncated_models_fail_cleanly(string file)
    {
        byte[] original = File.ReadAllBytes(Paths.SharedModel(file));
        var lengths = TruncationLengths(original, new Random(8191));
        Assert.True(lengths.Count >= Samples - 10, $"{lengths.Count} lengths");

        var outcome = new Outcome();
        string path = Path.Combine(Scratch.NewFolder(), file);
        foreach (int length in lengths)
        {
            File.WriteAllBytes(path, original[..length]);
            Check(path, $"{file} truncated to {length} bytes", outcome);
        }
        File.Delete(path);
        TestContext.Current.TestOutputHelper?.WriteLine(outcome.ToString());
        // Almost every cut lands inside the graph, which the parser rejects at its length prefix.
        Assert.True(outcome.Ids.GetValueOrDefault("MG0001") >= lengths.Count * 9 / 10, outcome.ToString());
    }

    [Theory]
    [InlineData("mnist-8.onnx", 101)]
    [InlineData("squeezenet1.1.onnx", 202)]
    public void Corrupted_models_fail_cleanly_or_compile(string file, int seed)
    {
        byte[] original = File.ReadAllBytes(Paths.SharedModel(file));
        List<(int Start, int End)> payloads = RawPayloads(original);
        var structural = new List<int>();
        for (int i = 0, p = 0; i < original.Length; i++)
        {
            while (p < payloads.Count && payloads[p].End <= i) p++;
            if (p == payloads.Count || i < payloads[p].Start) structural.Add(i);
        }
        var rng = new Random(seed);
        var outcome = new Outcome();
        string path = Path.Combine(Scratch.NewFolder(), file);
        for (int n = 0; n < Samples; n++)
        {
            // Seven in eight corruptions hit the structure (keys, lengths, names, dims, attributes), one in eight any
            // byte (which, in these files, is nearly always a weight).
            int pos = n % 8 == 7 ? rng.Next(original.Length) : structural[rng.Next(structural.Count)];
            byte value = (byte)rng.Next(256);
            if (value == original[pos]) value ^= 0xFF;
            byte was = original[pos];
            original[pos] = value;
            File.WriteAllBytes(path, original);
            original[pos] = was;
            Check(path, $"{file} with byte {pos} = 0x{value:X2} (was 0x{was:X2})", outcome);
        }
        File.Delete(path);
        TestContext.Current.TestOutputHelper?.WriteLine(outcome.ToString());
        // Both outcomes occur, so the sample does exercise the generator past the parser.
        Assert.True(outcome.Errors > 0 && outcome.Successes > 0, outcome.ToString());
        Assert.True(outcome.Compiled > 0, outcome.ToString());
    }

    public static TheoryData<string> HostileNameCases => new() { "line-separator", "paragraph-separator-unsupported", "local-names", "xml-and-quotes" };

    /// <summary>Node and tensor names are arbitrary strings chosen by the model: they must never break the generated C#.</summary>
    [Theory]
    [MemberData(nameof(HostileNameCases))]
    public void Model_controlled_names_cannot_break_the_generated_code(string kind)
    {
        var model = new OnnxBuilder();
        float[][] inputs;
        float[]? expected = null;
        string? unsupportedName = null;
        switch (kind)
        {
            case "line-separator":
                // U+2028 ends a line in C#, so inside a // or /// comment the rest of the name would become code.
                model.Input("x", 1, 4);
                model.Node("Relu", new[] { "x" }, new[] { "y" }, name: "re\u2028lu }\u2029 class Broken {");
                model.Output("y");
                inputs = new[] { new[] { -1f, 2f, -3f, 4f } };
                expected = new[] { 0f, 2f, 0f, 4f };
                break;
            case "paragraph-separator-unsupported":
                // The unsupported-node list goes into a doc comment and into the NotSupportedException message.
                unsupportedName = "custom\u2029\"op\" \\ */ <b>";
                model.Input("x", 1, 4);
                model.Node("NotARealOp", new[] { "x" }, new[] { "y" }, name: unsupportedName);
                model.Output("y");
                inputs = new[] { new float[4] };
                break;
            case "local-names":
                // Tensor names that collide with the generated Run's locals (in0, out0, ...) and its call to Execute.
                model.Input("in1", 1, 4);
                model.Input("in0", 1, 4);
                model.Input("Execute", 1, 4);
                model.Node("Add", new[] { "in1", "in0" }, new[] { "s" }, name: "add1");
                model.Node("Add", new[] { "s", "Execute" }, new[] { "out0" }, name: "add2");
                model.Output("out0");
                inputs = new[] { new[] { 1f, 2f, 3f, 4f }, new[] { 10f, 20f, 30f, 40f }, new[] { 100f, 200f, 300f, 400f } };
                expected = new[] { 111f, 222f, 333f, 444f };
                break;
            default:
                model.Input("x <&> \"quoted\" \\ */", 1, 4);
                model.Node("Relu", new[] { "x <&> \"quoted\" \\ */" }, new[] { "y\n\r\t\u0085" }, name: "</summary> <!-- \" */");
                model.Output("y\n\r\t\u0085");
                inputs = new[] { new[] { -1f, 2f, -3f, 4f } };
                expected = new[] { 0f, 2f, 0f, 4f };
                break;
        }
        string path = Scratch.Write("names.onnx", model);

        GeneratorRun run = GeneratorHarness.Run(path);

        Assert.DoesNotContain(run.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        using LoadedAssembly asm = run.Load();
        using ICompiledModel m = asm.Create("TestApp.Names");
        if (unsupportedName is not null)
        {
            var e = Assert.Throws<NotSupportedException>(() => OrtComparison.RunCompiled(m, inputs));
            Assert.Contains(unsupportedName, e.Message);
        }
        else
        {
            Assert.Equal(expected, OrtComparison.RunCompiled(m, inputs)[0]);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private sealed class Outcome
    {
        public int Errors;
        public int Successes;
        public int Compiled;
        public long SuccessMs, FailureMs;
        public readonly Dictionary<string, int> Ids = new();

        public override string ToString() =>
            $"errors {Errors}, successes {Successes} ({SuccessMs} ms), compiled {Compiled}, failures {FailureMs} ms; " + string.Join(", ", Ids.OrderBy(k => k.Key).Select(k => $"{k.Key} x{k.Value}"));
    }

    private static void Check(string path, string label, Outcome outcome)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        GeneratorRun run;
        try
        {
            run = GeneratorHarness.Run(path);
        }
        catch (Exception e)
        {
            Assert.Fail($"{label}: the generator driver threw {e}");
            return;
        }
        Assert.True(run.Result.Results.All(r => r.Exception is null), $"{label}: generator exception {run.Result.Results[0].Exception}");
        foreach (Diagnostic d in run.Diagnostics)
        {
            Assert.False(d.Id is "CS8785" or "MG0900", $"{label}: {d}");
            Assert.True(d.Id.StartsWith("MG", StringComparison.Ordinal), $"{label}: unexpected {d}");
            Assert.Equal(path, d.Location.GetLineSpan().Path);
            outcome.Ids[d.Id] = outcome.Ids.GetValueOrDefault(d.Id) + 1;
        }
        bool failed = run.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
        if (failed) outcome.FailureMs += sw.ElapsedMilliseconds; else outcome.SuccessMs += sw.ElapsedMilliseconds;
        if (failed)
        {
            outcome.Errors++;
            Assert.True(run.Sources.Count == 0, $"{label}: errors but {run.Sources.Count} sources\n{Expect.Dump(run.Diagnostics)}");
            return;
        }
        outcome.Successes++;
        Assert.True(run.Sources.Count > 0, $"{label}: no error and no source");
        // Cheap check for every success: the generated trees parse (the driver already parsed them).
        var syntaxErrors = run.OutputCompilation.SyntaxTrees
            .SelectMany(t => t.GetDiagnostics())
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .ToList();
        Assert.True(syntaxErrors.Count == 0, $"{label}: generated code has syntax errors:\n{Expect.Dump(syntaxErrors.Take(5))}");
        if (outcome.Compiled < CompileCap)
        {
            (byte[]? assembly, var errors) = run.Emit();
            Assert.True(assembly is not null, $"{label}: generated code does not compile:\n{Expect.Dump(errors.Take(10))}");
            outcome.Compiled++;
        }
    }

    /// <summary>
    /// About <see cref="Samples"/> distinct lengths in [0, file length): the first 32, the last 32, both sides of every
    /// top-level field boundary (where a cut can leave a parseable prefix), and seeded random lengths for the rest.
    /// </summary>
    private static List<int> TruncationLengths(byte[] file, Random rng)
    {
        var set = new SortedSet<int>();
        for (int i = 0; i < 32; i++)
        {
            set.Add(i);
            set.Add(file.Length - 1 - i);
        }
        var r = new ProtoReader(file, 0, file.Length, "ModelProto");
        while (r.TryReadTag(out int field, out WireType wt))
        {
            r.Skip(field, wt);
            foreach (int b in new[] { r.Position - 1, r.Position, r.Position + 1 })
            {
                if (b >= 0 && b < file.Length) set.Add(b);
            }
        }
        while (set.Count < Samples) set.Add(rng.Next(file.Length));
        return set.ToList();
    }

    /// <summary>The [start, end) byte ranges of initializer payloads (raw_data or packed typed data), sorted.</summary>
    private static List<(int Start, int End)> RawPayloads(byte[] file)
    {
        OnnxModelProto model = OnnxParser.ParseModel(file);
        return model.Graph!.Initializers
            .Where(t => t.RawOffset >= 0)
            .Select(t => (t.RawOffset, t.RawOffset + t.RawLength))
            .OrderBy(p => p.Item1)
            .ToList();
    }
}
