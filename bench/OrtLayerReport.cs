// Licensed under the MIT license.
// Per-node timings of ONNX Runtime for the same model and input (ORT's own profiler: one event per node and run),
// printed like LayerReport's table, to put the generated layers side by side with ORT's kernels.

using System.Globalization;
using System.Text.Json;
using ModelGen.OnnxRuntime;
using ModelGen.TestSupport;

namespace ModelGen.Bench;

public static class OrtLayerReport
{
    private const int WarmupRuns = 5;

    public static void Print(BenchModel m, int runs, TextWriter output)
    {
        var rows = Measure(m, runs);
        double total = rows.Sum(r => r.Ms);
        CultureInfo c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"## {m.Name}, ONNX Runtime 1 thread: {rows.Count} nodes after its graph optimisations, {total:F3} ms (sum of per-node medians over {runs} runs)"));
        output.WriteLine();
        output.WriteLine("| node | op | ms | share |");
        output.WriteLine("|---|---|---:|---:|");
        foreach (var r in rows) output.WriteLine(string.Create(c, $"| {r.Name} | {r.Op} | {r.Ms:F3} | {r.Ms / total * 100:F1}% |"));
        output.WriteLine();
    }

    /// <summary>ONNX Runtime's nodes (after its graph optimisations) with their median time over <paramref name="runs"/> profiled runs, slowest first.</summary>
    public static List<(string Name, string Op, double Ms)> Measure(BenchModel m, int runs)
    {
        string prefix = Path.Combine(Path.GetTempPath(), $"modelgen-ort-profile-{Environment.ProcessId}-{m.Name}");
        var durations = new Dictionary<string, (string Op, List<long> Us)>();
        using var model = m.Create();
        (OrtSession session, OrtPreparedRun run) = m.OpenOrt(model.Inputs, m.RandomInputs(model.Inputs), prefix);
        using (session)
        using (run)
        {
            for (int r = 0; r < WarmupRuns + runs; r++) run.Run();
            string file = session.EndProfiling();
            try
            {
                using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(file));
                foreach (JsonElement e in doc.RootElement.EnumerateArray())
                {
                    if (e.GetProperty("cat").GetString() != "Node") continue;
                    string name = e.GetProperty("name").GetString()!;
                    if (!name.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
                    name = name[..^"_kernel_time".Length];
                    string op = e.TryGetProperty("args", out JsonElement a) && a.TryGetProperty("op_name", out JsonElement o) ? o.GetString()! : "";
                    if (!durations.TryGetValue(name, out var entry)) durations[name] = entry = (op, new List<long>());
                    entry.Us.Add(e.GetProperty("dur").GetInt64());
                }
            }
            finally
            {
                File.Delete(file);
            }
        }
        // The first runs are warm-up (allocation, first-touch): keep the last `runs` samples of each node.
        return durations.Select(kv =>
        {
            var us = kv.Value.Us.Skip(Math.Max(0, kv.Value.Us.Count - runs)).OrderBy(x => x).ToArray();
            return (Name: kv.Key, kv.Value.Op, Ms: us[us.Length / 2] / 1000.0);
        }).OrderByDescending(r => r.Ms).ToList();
    }

    /// <summary>
    /// The ONNX node names an ONNX Runtime node may stand for, most likely first: its own name; the node that produced the
    /// value it is named after (its NCHWc transformer names a node after its output, <c>{value}_nchwc</c>); the node a
    /// fusion was named after (<c>{node}/QuickGeluFusion/</c>, SiLU as Sigmoid and Mul).
    /// </summary>
    public static IEnumerable<string> OnnxNodesOf(string ortName, IReadOnlyDictionary<string, string> producers)
    {
        yield return ortName;
        string value = ortName.EndsWith("_nchwc", StringComparison.Ordinal) ? ortName[..^"_nchwc".Length] : ortName;
        if (producers.TryGetValue(value, out string? producer)) yield return producer;
        int fusion = ortName.IndexOf("/QuickGeluFusion", StringComparison.Ordinal);
        if (fusion > 0) yield return ortName[..fusion];
    }
}
