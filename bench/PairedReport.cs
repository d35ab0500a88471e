// Licensed under the MIT license.
// bench --paired (and a section of docs/performance.md): the two sides of a comparison timed alternately, one run each
// per pair, so both see the same machine state. On a shared VM another tenant's load comes and goes over seconds;
// BenchmarkDotNet measures one side after the other, so a busy phase during one side's iterations moves the ratio of
// medians by 10-15%. The per-pair ratios cancel such phases; their median and quartiles are reported.

using System.Diagnostics;
using System.Globalization;
using System.Text;
using ModelGen.OnnxRuntime;
using ModelGen.Runtime;
using ModelGen.TestSupport;

namespace ModelGen.Bench;

public static class PairedReport
{
    /// <summary>Per pair: the baseline's and the candidate's time (ms), order alternating between pairs.</summary>
    public sealed record Result(string Model, int Pairs, double BaseMs, double CandidateMs, double Ratio, double RatioQ1, double RatioQ3);

    /// <summary>
    /// Times <paramref name="baseline"/> and <paramref name="candidate"/> alternately (warm-up of both first), for at least
    /// <paramref name="minPairs"/> pairs and about <paramref name="seconds"/> seconds; ratio = baseline time / candidate time.
    /// </summary>
    public static Result Measure(string model, Action baseline, Action candidate, int minPairs = 60, double seconds = 3)
    {
        for (int i = 0; i < 5; i++)
        {
            baseline();
            candidate();
        }
        var b = new List<double>();
        var c = new List<double>();
        var total = Stopwatch.StartNew();
        for (int p = 0; p < minPairs || (total.Elapsed.TotalSeconds < seconds && p < 5000); p++)
        {
            // Alternate which side runs first: neither always inherits the other's cache state.
            double first = Time(p % 2 == 0 ? baseline : candidate), second = Time(p % 2 == 0 ? candidate : baseline);
            b.Add(p % 2 == 0 ? first : second);
            c.Add(p % 2 == 0 ? second : first);
        }
        double[] ratios = b.Zip(c, (x, y) => x / y).OrderBy(x => x).ToArray();
        return new Result(model, ratios.Length, Median(b), Median(c), Quantile(ratios, 0.5), Quantile(ratios, 0.25), Quantile(ratios, 0.75));
    }

    /// <summary>ONNX Runtime (baseline) against the generated class, one thread each, same input.</summary>
    public static Result MeasureOrt(BenchModel m)
    {
        using ICompiledModel model = m.Create();
        float[][] data = m.RandomInputs(model.Inputs);
        var inputs = data.Select(d => (ReadOnlyMemory<float>)d).ToArray();
        var outputs = model.Outputs.Select(o => (Memory<float>)new float[o.ElementCount]).ToArray();
        (OrtSession session, OrtPreparedRun ort) = m.OpenOrt(model.Inputs, data);
        using (session)
        using (ort)
        {
            return Measure(m.Name, () => ort.Run(), () => model.Run(inputs, outputs));
        }
    }

    /// <summary>The generated class with one thread (baseline) against two threads.</summary>
    public static Result MeasureThreads(BenchModel m)
    {
        using ICompiledModel one = m.Create(1), two = m.Create(2);
        var inputs = m.RandomInputs(one.Inputs).Select(d => (ReadOnlyMemory<float>)d).ToArray();
        var outputs = one.Outputs.Select(o => (Memory<float>)new float[o.ElementCount]).ToArray();
        return Measure(m.Name, () => one.Run(inputs, outputs), () => two.Run(inputs, outputs));
    }

    public static string Write(IReadOnlyList<Result> ort, IReadOnlyList<Result> threads)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("## Paired measurement");
        sb.AppendLine();
        sb.AppendLine("The same comparisons timed alternately, one run of each side per pair (which side runs first alternates), at");
        sb.AppendLine("least 60 pairs and about 3 s per model, right after the BenchmarkDotNet runs in the same process: both sides");
        sb.AppendLine("see the same machine state, so another tenant's busy phase cancels out of each pair's ratio instead of landing on");
        sb.AppendLine("one side's iterations. Ratio = median of the per-pair ratios (quartiles beside it). `-- --paired [model...]` prints");
        sb.AppendLine("this section alone.");
        sb.AppendLine();
        sb.AppendLine("| model | pairs | ONNX Runtime (ms) | ModelGen (ms) | paired ratio ORT/ModelGen | quartiles |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (Result r in ort) sb.AppendLine(string.Create(c, $"| {r.Model} | {r.Pairs} | {r.BaseMs:F3} | {r.CandidateMs:F3} | {r.Ratio:F2} | {r.RatioQ1:F2}-{r.RatioQ3:F2} |"));
        foreach ((string label, double mean) in PerformanceReport.GeometricMeans(ort.Select(r => (r.Model, r.Ratio)).ToList()))
            sb.AppendLine(string.Create(c, $"| **{label}** | | | | **{mean:F2}** | |"));
        if (threads.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("| model | pairs | 1 thread (ms) | 2 threads (ms) | paired speedup | quartiles |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (Result r in threads) sb.AppendLine(string.Create(c, $"| {r.Model} | {r.Pairs} | {r.BaseMs:F3} | {r.CandidateMs:F3} | {r.Ratio:F2} | {r.RatioQ1:F2}-{r.RatioQ3:F2} |"));
        }
        return sb.ToString();
    }

    private static double Time(Action a)
    {
        long t0 = Stopwatch.GetTimestamp();
        a();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    private static double Median(List<double> values) => Quantile(values.OrderBy(x => x).ToArray(), 0.5);

    /// <summary>The <paramref name="q"/> quantile of sorted values (linear interpolation).</summary>
    internal static double Quantile(double[] sorted, double q)
    {
        double at = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(at), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
    }
}
