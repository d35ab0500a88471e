// Licensed under the MIT license.
// The ONNX backend tests (Debian's libonnx-testdata) as a conformance suite: every test is compiled, run and compared
// (see TestSupport/NodeConformance), and its outcome must equal the one recorded in docs/conformance.md.

using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed class NodeConformanceTests
{
    [Fact]
    public void Backend_tests_pass_or_are_rejected_as_documented_in_conformance_md()
    {
        List<NodeResult> results = NodeConformance.Run(NodeConformance.NodeTests());

        // No crash and no silently wrong numbers, anywhere.
        var bugs = results.Where(r => r.Outcome is NodeOutcome.Failed or NodeOutcome.Crashed).ToList();
        Assert.True(bugs.Count == 0, "Wrong results or crashes:\n" + string.Join("\n", bugs.Select(b => $"{b.Test}: {b.Outcome}: {b.Detail}")));

        // Every status equals the committed report (regressions and undocumented improvements both fail).
        string docPath = Path.Combine(Paths.RepoRoot, "docs", "conformance.md");
        Dictionary<string, string> documented = ConformanceReport.ParseStatuses(File.ReadAllText(docPath));
        var differences = results
            .Where(r => !documented.TryGetValue(r.Test, out string? s) || s != ConformanceReport.Label(r.Outcome))
            .Select(r => $"{r.Test}: now {ConformanceReport.Label(r.Outcome)}, documented {(documented.TryGetValue(r.Test, out string? s) ? s : "(missing)")} ({r.Detail})")
            .ToList();
        differences.AddRange(documented.Keys.Except(results.Select(r => r.Test)).Select(t => $"{t}: documented but not run"));
        Assert.True(differences.Count == 0,
            "docs/conformance.md is out of date; regenerate it with `dotnet run --project tests/ModelGen.ConformanceReport -c Release -- docs/conformance.md`:\n"
            + string.Join("\n", differences.Take(50)));
    }
}
