// Licensed under the MIT license.
// Generates docs/conformance.md from a run of the ONNX backend node tests (see ModelGen.TestSupport.NodeConformance).

using System.Diagnostics;
using ModelGen.TestSupport;

string output = args.Length > 0 ? args[0] : Path.Combine(Paths.RepoRoot, "docs", "conformance.md");
var watch = Stopwatch.StartNew();
var tests = NodeConformance.NodeTests();
var results = NodeConformance.Run(tests);
File.WriteAllText(output, ConformanceReport.Markdown(results));
Console.WriteLine($"{results.Count} node tests in {watch.Elapsed.TotalSeconds:F0} s: " +
    string.Join(", ", results.GroupBy(r => r.Outcome).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}")) + $"; wrote {output}");
return results.Any(r => r.Outcome is NodeOutcome.Crashed or NodeOutcome.Failed) ? 1 : 0;
