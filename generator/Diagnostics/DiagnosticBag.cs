// Licensed under the MIT license.
// Collects the diagnostics of one model while it is compiled.

using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace ModelGen.Generator.Diagnostics;

internal sealed class DiagnosticBag
{
    private readonly List<DiagnosticInfo> _items = new();

    public DiagnosticBag(string filePath) => FilePath = filePath;

    public string FilePath { get; }
    public bool HasErrors { get; private set; }
    public IReadOnlyList<DiagnosticInfo> Items => _items;

    public void Report(DiagnosticDescriptor descriptor, params object?[] args)
    {
        _items.Add(DiagnosticInfo.Create(descriptor, FilePath, args));
        if (descriptor.DefaultSeverity == DiagnosticSeverity.Error) HasErrors = true;
    }
}
