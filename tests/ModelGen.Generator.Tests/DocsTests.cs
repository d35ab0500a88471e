// Licensed under the MIT license.
// Keeps docs/diagnostics.md and generator/AnalyzerReleases.Unshipped.md in sync with the catalog
// (DiagnosticDescriptors.All): every ID documented once in the summary table with its severity and title, with a section
// at the anchor its help link points to, and listed in the release tracking file with its category and severity.

using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using ModelGen.Generator.Diagnostics;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Generator.Tests;

public sealed class DocsTests
{
    private const string HelpBase = "https://github.com/modelgen/modelgen/blob/main/docs/diagnostics.md#";

    private static readonly string s_docs = File.ReadAllText(Path.Combine(Paths.RepoRoot, "docs", "diagnostics.md"));

    public static TheoryData<string> Ids => new(DiagnosticDescriptors.All.Select(d => d.Id));

    /// <summary>Summary rows: | [MG0001](#mg0001) | Error | Title | cause | fix |</summary>
    private static Dictionary<string, string[]> SummaryRows()
    {
        var rows = new Dictionary<string, string[]>();
        foreach (Match m in Regex.Matches(s_docs, @"^\| \[(MG\d{4})\]\(#(mg\d{4})\) \|(.*)\|\s*$", RegexOptions.Multiline))
        {
            string id = m.Groups[1].Value;
            Assert.Equal(id.ToLowerInvariant(), m.Groups[2].Value);
            Assert.False(rows.ContainsKey(id), $"{id} appears twice in the summary table");
            rows[id] = m.Groups[3].Value.Split('|').Select(c => c.Trim()).ToArray();
        }
        return rows;
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Every_diagnostic_is_documented_with_its_severity(string id)
    {
        DiagnosticDescriptor d = DiagnosticDescriptors.Get(id);
        string anchor = id.ToLowerInvariant();

        // The help link points at this page's section for the ID.
        Assert.Equal(HelpBase + anchor, d.HelpLinkUri);

        // Summary table: severity and title as in the catalog, and a cause and a fix.
        Assert.True(SummaryRows().TryGetValue(id, out string[]? row), $"{id} is missing from the summary table");
        Assert.Equal(4, row!.Length);
        Assert.Equal(d.DefaultSeverity.ToString(), row[0]);
        Assert.Equal(d.Title.ToString(), row[1]);
        Assert.NotEmpty(row[2]);
        Assert.NotEmpty(row[3]);

        // Section: the explicit anchor, a heading with the title, the severity and category, an example with the ID.
        string heading = $"<a id=\"{anchor}\"></a>\n## {id}: {d.Title}\n";
        int start = s_docs.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"section heading for {id} not found (expected:\n{heading})");
        int end = s_docs.IndexOf("\n<a id=\"", start + heading.Length, StringComparison.Ordinal);
        string section = end < 0 ? s_docs[start..] : s_docs[start..end];
        Assert.Contains($"**Default severity:** {d.DefaultSeverity} · **Category:** {d.Category}", section);
        string level = d.DefaultSeverity switch
        {
            DiagnosticSeverity.Error => "error",
            DiagnosticSeverity.Warning => "warning",
            _ => "info",
        };
        Assert.Matches($@"\*\*Example:\*\* `[^`]+\.onnx\(1,1\): {level} {id}: [^`]+`", section);
        foreach (string part in new[] { "**Cause:**", "**Fix:**", "**Severity:**" }) Assert.Contains(part, section);
    }

    [Fact]
    public void Docs_document_only_catalog_ids()
    {
        var catalog = DiagnosticDescriptors.All.Select(d => d.Id).ToHashSet();
        Assert.Equal(catalog.OrderBy(i => i), SummaryRows().Keys.OrderBy(i => i));
        var sections = Regex.Matches(s_docs, @"^## (MG\d{4}):", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(DiagnosticDescriptors.All.Select(d => d.Id), sections); // catalog order, each once
    }

    [Fact]
    public void Release_tracking_file_matches_the_catalog()
    {
        string text = File.ReadAllText(Path.Combine(Paths.RepoRoot, "generator", "AnalyzerReleases.Unshipped.md"));
        var rows = Regex.Matches(text, @"^(MG\d{4})\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups[1].Value, m => (Category: m.Groups[2].Value, Severity: m.Groups[3].Value));
        Assert.Equal(DiagnosticDescriptors.All.Select(d => d.Id).OrderBy(i => i), rows.Keys.OrderBy(i => i));
        foreach (DiagnosticDescriptor d in DiagnosticDescriptors.All)
        {
            Assert.Equal(d.Category, rows[d.Id].Category);
            Assert.Equal(d.DefaultSeverity.ToString(), rows[d.Id].Severity);
        }
    }
}
