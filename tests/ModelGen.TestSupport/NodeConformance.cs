// Licensed under the MIT license.
// The ONNX backend node tests (Debian's libonnx-testdata) as a conformance suite: generate, compile (in batches), run
// on the test's inputs, compare with its expected outputs. Every test gets one outcome.

using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.CodeAnalysis;
using ModelGen.Runtime;

namespace ModelGen.TestSupport;

public enum NodeOutcome
{
    /// <summary>Compiled, ran, every output within tolerance.</summary>
    Passed,
    /// <summary>Compiled and ran but an output is wrong: a bug (wrong numbers must never pass silently).</summary>
    Failed,
    /// <summary>Differs from the test's expected output but equals ONNX Runtime's (the ONNX 1.12 data predates a spec fix).</summary>
    MatchesOrt,
    /// <summary>A node ModelGen cannot compile (MG0100 warning; Run throws NotSupportedException).</summary>
    NotSupported,
    /// <summary>The model was rejected with an error diagnostic.</summary>
    Rejected,
    /// <summary>The generator crashed (CS8785/MG0900), the generated code did not compile, or Run threw: a bug.</summary>
    Crashed,
}

public sealed record NodeResult(string Test, NodeOutcome Outcome, string Detail, double MaxError)
{
    /// <summary>Graph inputs frozen to the test's values (ModelGenConstantInputs).</summary>
    public string Frozen { get; init; } = "";
}

public static class NodeConformance
{
    public const string DataRoot = "/usr/share/libonnx-testdata/data";

    /// <summary>The suites of libonnx-testdata: single-op node tests, then the PyTorch-exported and simple models.</summary>
    public static readonly string[] Suites = { "node", "pytorch-converted", "pytorch-operator", "simple" };

    /// <summary>Every test folder of every suite (fails with install instructions when the package is missing).</summary>
    public static IReadOnlyList<string> NodeTests()
    {
        string node = Path.Combine(DataRoot, "node");
        if (!Directory.Exists(node))
        {
            throw new DirectoryNotFoundException(
                $"The ONNX backend node tests are not installed ({node} is missing). Install Debian's package: " +
                "sudo apt-get install -y libonnx-testdata (the test command installs it automatically when run as root).");
        }
        return Suites.Select(s => Path.Combine(DataRoot, s)).Where(Directory.Exists)
            .SelectMany(d => Directory.GetDirectories(d).OrderBy(t => t, StringComparer.Ordinal))
            .Where(t => File.Exists(Path.Combine(t, "model.onnx")))
            .ToList();
    }

    /// <summary>The name a test has in reports: the folder name, prefixed by its suite outside "node".</summary>
    public static string DisplayName(string test)
    {
        string suite = Path.GetFileName(Path.GetDirectoryName(test)!);
        return suite == "node" ? Path.GetFileName(test) : suite + "/" + Path.GetFileName(test);
    }

    /// <summary>Tolerance |a - r| &lt;= atol + rtol |r| per test (the expected outputs come from numpy).</summary>
    public static Tolerance ToleranceFor(string test)
    {
        // Default: float32 rounding of short computations against numpy (float32 or float64 rounded).
        var t = new Tolerance(1e-5, 1e-4);
        // Long reductions, normalisations and transcendental chains accumulate more rounding.
        if (ContainsAny(test, "reduce", "norm", "softmax", "lrn", "pool", "conv", "gemm", "matmul", "resize", "upsample", "gelu", "mish", "erf", "pow", "celu", "selu", "elu", "softplus", "logsum", "sum_square", "l2", "l1"))
            t = new Tolerance(1e-4, 1e-3);
        return t;
    }

    private static bool ContainsAny(string s, params string[] parts) => parts.Any(p => s.Contains(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>Runs every test folder; batches compile several models per compilation.</summary>
    public static List<NodeResult> Run(IReadOnlyList<string> tests, int batchSize = 32)
    {
        var results = new List<NodeResult>();
        for (int i = 0; i < tests.Count; i += batchSize)
        {
            results.AddRange(RunBatch(tests.Skip(i).Take(batchSize).ToList()));
        }
        return results;
    }

    private static string ClassName(string test) => "N_" + new string(DisplayName(test).Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());

    private static List<NodeResult> RunBatch(List<string> tests)
    {
        var results = new Dictionary<string, NodeResult>();
        var runnable = new List<string>();
        foreach (string test in tests)
        {
            NodeResult? early = Classify(test);
            if (early is not null) results[test] = early;
            else runnable.Add(test);
        }
        // Compile the runnable ones together; on a compile error fall back to one compilation per model.
        if (runnable.Count > 0)
        {
            if (TryRunCompiled(runnable, results) is not null)
            {
                foreach (string test in runnable)
                {
                    string? error = TryRunCompiled(new List<string> { test }, results);
                    if (error is not null)
                        results[test] = new NodeResult(DisplayName(test), NodeOutcome.Crashed, "generated code does not compile: " + Shorten(error), 0);
                }
            }
        }
        return tests.Select(t => results[t] with { Frozen = FrozenInputs(t) }).ToList();
    }

    /// <summary>
    /// Graph inputs frozen to their test values (ModelGenConstantInputs) because they determine shapes: the backend
    /// tests feed Resize scales, Reshape shapes, Slice starts... as run-time inputs, which a static compiler needs at build
    /// time. Recorded in the report.
    /// </summary>
    private static readonly Dictionary<string, string> s_frozen = new(StringComparer.Ordinal);

    private static ModelInput Input(string test) => new(Path.Combine(test, "model.onnx"), new Dictionary<string, string>
    {
        ["ModelGenClass"] = ClassName(test),
        ["ModelGenResourceName"] = "ModelGen." + ClassName(test) + ".onnx",
        ["ModelGenConstantInputs"] = s_frozen.TryGetValue(test, out string? frozen) ? frozen : "",
    });

    private static readonly System.Text.RegularExpressions.Regex s_runtimeInput =
        new(@"input '([^']+)'(?: \('([^']+)'\))? must be known at build time", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private static readonly System.Text.RegularExpressions.Regex s_symbolicInput =
        new(@"^Input '([^']+)' has symbolic dimension", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>The graph input a rejection asks to know at build time, if the test supplies it.</summary>
    private static string? FreezeCandidate(Diagnostic d, string test)
    {
        string message = d.GetMessage(CultureInfo.InvariantCulture);
        System.Text.RegularExpressions.Match m = d.Id == "MG0102" ? s_runtimeInput.Match(message) : d.Id == "MG0201" ? s_symbolicInput.Match(message) : System.Text.RegularExpressions.Match.Empty;
        if (!m.Success) return null;
        string name = m.Groups.Count > 2 && m.Groups[2].Success ? m.Groups[2].Value : m.Groups[1].Value;
        List<TestTensor> inputs;
        try
        {
            inputs = OnnxTestData.ReadSet(Path.Combine(test, "test_data_set_0")).Inputs;
        }
        catch (Exception)
        {
            return null; // sequence or optional test data: not a tensor to freeze
        }
        TestTensor? t = inputs.FirstOrDefault(x => x.Name == name);
        if (t is null) return null;
        string values = t.Floats is not null
            ? string.Join(",", t.Floats.Select(f => f.ToString("R", CultureInfo.InvariantCulture)))
            : string.Join(",", t.Longs!.Select(l => l.ToString(CultureInfo.InvariantCulture)));
        return name + "=" + values;
    }

    /// <summary>Names of the inputs frozen for a test (for the report).</summary>
    public static string FrozenInputs(string test) =>
        s_frozen.TryGetValue(test, out string? f) ? string.Join(", ", f.Split(';').Select(e => e.Substring(0, e.IndexOf('=')))) : "";

    /// <summary>Runs the generator alone on one test; returns its outcome unless it needs compiling and running.</summary>
    private static NodeResult? Classify(string test)
    {
        string name = DisplayName(test);
        GeneratorRun run;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                run = GeneratorHarness.Run(new[] { Input(test) });
            }
            catch (Exception e)
            {
                return new NodeResult(name, NodeOutcome.Crashed, "generator threw " + e.GetType().Name + ": " + e.Message, 0);
            }
            // Shape-determining inputs the test supplies: freeze them and compile again (at most a few rounds).
            string? freeze = attempt < 6 ? run.Diagnostics.Select(d => FreezeCandidate(d, test)).FirstOrDefault(f => f is not null) : null;
            if (freeze is null) break;
            s_frozen[test] = s_frozen.TryGetValue(test, out string? before) ? before + ";" + freeze : freeze;
        }
        var crash = run.Diagnostics.FirstOrDefault(d => d.Id is "CS8785" or "MG0900");
        if (crash is not null) return new NodeResult(name, NodeOutcome.Crashed, $"{crash.Id}: {crash.GetMessage(CultureInfo.InvariantCulture)}", 0);
        var error = run.Diagnostics.FirstOrDefault(d => d.Severity == DiagnosticSeverity.Error);
        if (error is not null) return new NodeResult(name, NodeOutcome.Rejected, $"{error.Id}: {Shorten(error.GetMessage(CultureInfo.InvariantCulture))}", 0);
        var unsupported = run.Diagnostics.FirstOrDefault(d => d.Id == "MG0100");
        if (unsupported is not null) return new NodeResult(name, NodeOutcome.NotSupported, Shorten(unsupported.GetMessage(CultureInfo.InvariantCulture)), 0);
        return null;
    }

    private static string Shorten(string message)
    {
        // "Node 'x' uses operator Op (opset n), which ModelGen does not support: reason; the generated Run throws ..."
        int cut = message.IndexOf("; the generated Run throws", StringComparison.Ordinal);
        if (cut > 0) message = message.Substring(0, cut);
        return message.Replace("|", "\\|").Replace("\n", " ");
    }

    /// <summary>Compiles and runs the tests; returns null, or the first compiler error.</summary>
    private static string? TryRunCompiled(List<string> tests, Dictionary<string, NodeResult> results)
    {
        GeneratorRun run = GeneratorHarness.Run(tests.Select(Input));
        (byte[]? bytes, var errors) = run.Emit();
        if (bytes is null) return errors.FirstOrDefault()?.ToString() ?? "unknown";
        using var asm = new LoadedAssembly(bytes);
        foreach (string test in tests)
        {
            results[test] = Execute(test, asm);
        }
        return null;
    }

    private static NodeResult Execute(string test, LoadedAssembly asm)
    {
        string name = DisplayName(test);
        try
        {
            using ICompiledModel model = asm.Create("TestApp." + ClassName(test));
            var (inputs, outputs) = OnnxTestData.ReadSet(Path.Combine(test, "test_data_set_0"));
            var inBuffers = new List<ReadOnlyMemory<byte>>();
            for (int i = 0; i < model.Inputs.Count; i++)
            {
                TensorInfo info = model.Inputs[i];
                TestTensor t = inputs.FirstOrDefault(x => x.Name == info.Name) ?? (i < inputs.Count ? inputs[i] : throw new InvalidOperationException($"no test data for input '{info.Name}'"));
                inBuffers.Add(ToBytes(t, info));
            }
            var outBuffers = model.Outputs.Select(o => new byte[o.ByteCount]).ToArray();
            model.Run(inBuffers.ToArray(), outBuffers.Select(b => (Memory<byte>)b).ToArray());
            if (outputs.Count != model.Outputs.Count) return new NodeResult(name, NodeOutcome.Failed, $"{model.Outputs.Count} outputs, {outputs.Count} expected", 0);
            double maxError = 0;
            for (int o = 0; o < outputs.Count; o++)
            {
                TensorInfo info = model.Outputs[o];
                TestTensor expected = outputs.FirstOrDefault(x => x.Name == info.Name) ?? outputs[o];
                if (expected.Shape.Aggregate(1L, (a, b) => a * b) != info.ElementCount)
                    return new NodeResult(name, NodeOutcome.Failed, $"output '{info.Name}' has {info.ElementCount} elements, expected {string.Join("x", expected.Shape)}", 0);
                if (expected.Floats is not null)
                {
                    float[] actual = ToFloats(outBuffers[o], info);
                    maxError = Math.Max(maxError, Tolerance.MaxAbsError(actual, expected.Floats));
                    string? e = ToleranceFor(name).Compare(actual, expected.Floats, $"output '{info.Name}'");
                    if (e is not null)
                    {
                        // Cross-check with ONNX Runtime: the reference ModelGen targets.
                        string? ort = OrtCrossCheck(test, inputs, o, actual);
                        return ort is null
                            ? new NodeResult(name, NodeOutcome.MatchesOrt, $"test data differs ({Shorten(e)}); ONNX Runtime {OnnxRuntime.OrtLibrary.Version} gives ModelGen's values", maxError)
                            : new NodeResult(name, NodeOutcome.Failed, Shorten(e) + "; ONNX Runtime: " + ort, maxError);
                    }
                }
                else
                {
                    long[] actual = ToLongs(outBuffers[o], info);
                    for (int k = 0; k < actual.Length; k++)
                    {
                        if (actual[k] != expected.Longs![k])
                            return new NodeResult(name, NodeOutcome.Failed, $"output '{info.Name}'[{k}] = {actual[k]}, expected {expected.Longs[k]}", 0);
                    }
                }
            }
            return new NodeResult(name, NodeOutcome.Passed, "", maxError);
        }
        catch (Exception e)
        {
            return new NodeResult(name, NodeOutcome.Crashed, "Run threw " + e.GetType().Name + ": " + Shorten(e.Message), 0);
        }
    }

    /// <summary>Runs ONNX Runtime on the test's inputs; null when output <paramref name="index"/> equals <paramref name="actual"/>.</summary>
    private static string? OrtCrossCheck(string test, List<TestTensor> inputs, int index, float[] actual)
    {
        try
        {
            if (!OnnxRuntime.OrtLibrary.TryLoad(out string? error)) return "not available (" + error + ")";
            using var session = new OnnxRuntime.OrtSession(Path.Combine(test, "model.onnx"));
            var tensors = new List<OnnxRuntime.OrtTensor>();
            for (int i = 0; i < session.Inputs.Count; i++)
            {
                var info = session.Inputs[i];
                TestTensor t = inputs.FirstOrDefault(x => x.Name == info.Name) ?? inputs[i];
                long[] shape = t.Shape.Select(d => (long)d).ToArray();
                tensors.Add(info.ElementType switch
                {
                    OnnxRuntime.OrtElementType.Float => OnnxRuntime.OrtTensor.Float(info.Name, t.Floats!, shape),
                    OnnxRuntime.OrtElementType.Int64 => OnnxRuntime.OrtTensor.Int64(info.Name, t.Longs!, shape),
                    _ => throw new NotSupportedException(info.ElementType.ToString()),
                });
            }
            float[] ort = session.Run(tensors)[index].GetData<float>();
            return new Tolerance(1e-5, 1e-4).Compare(actual, ort, "vs ONNX Runtime");
        }
        catch (Exception e)
        {
            return "could not run (" + e.Message + ")";
        }
    }

    private static byte[] ToBytes(TestTensor t, TensorInfo info)
    {
        var bytes = new byte[info.ByteCount];
        int n = info.ElementCount;
        Type type = info.ElementType;
        for (int i = 0; i < n; i++)
        {
            double d = t.Floats is not null ? t.Floats[i] : t.Longs![i];
            long l = t.Longs is not null ? t.Longs[i] : (long)d;
            Span<byte> dst = bytes.AsSpan(i * info.ElementSize, info.ElementSize);
            if (type == typeof(float)) MemoryMarshal.Write(dst, (float)d);
            else if (type == typeof(double)) MemoryMarshal.Write(dst, d);
            else if (type == typeof(long)) MemoryMarshal.Write(dst, l);
            else if (type == typeof(int)) MemoryMarshal.Write(dst, (int)l);
            else if (type == typeof(short)) MemoryMarshal.Write(dst, (short)l);
            else if (type == typeof(ushort)) MemoryMarshal.Write(dst, (ushort)l);
            else if (type == typeof(sbyte)) dst[0] = (byte)(sbyte)l;
            else if (type == typeof(byte)) dst[0] = (byte)l;
            else if (type == typeof(bool)) dst[0] = l != 0 ? (byte)1 : (byte)0;
            else throw new NotSupportedException(type.Name);
        }
        return bytes;
    }

    private static float[] ToFloats(byte[] b, TensorInfo info) =>
        info.ElementType == typeof(double)
            ? MemoryMarshal.Cast<byte, double>(b).ToArray().Select(d => (float)d).ToArray()
            : MemoryMarshal.Cast<byte, float>(b).ToArray();

    private static long[] ToLongs(byte[] b, TensorInfo info)
    {
        var r = new long[info.ElementCount];
        for (int i = 0; i < r.Length; i++)
        {
            ReadOnlySpan<byte> s = b.AsSpan(i * info.ElementSize, info.ElementSize);
            Type t = info.ElementType;
            r[i] = t == typeof(long) ? MemoryMarshal.Read<long>(s) : t == typeof(int) ? MemoryMarshal.Read<int>(s)
                : t == typeof(short) ? MemoryMarshal.Read<short>(s) : t == typeof(ushort) ? MemoryMarshal.Read<ushort>(s)
                : t == typeof(sbyte) ? (sbyte)s[0] : s[0];
        }
        return r;
    }
}
