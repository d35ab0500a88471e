// Licensed under the MIT license.
// Reports a model's diagnostics and adds its sources (via Emit/ModelEmitter).

using System;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using ModelGen.Generator.Diagnostics;
using ModelGen.Generator.Emit;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

public sealed partial class ModelGenerator
{
    private static void Emit(SourceProductionContext context, ModelResult result, ImmutableArray<(string Path, string FullName)> names)
    {
        foreach (DiagnosticInfo info in result.Diagnostics) context.ReportDiagnostic(info.ToDiagnostic());
        if (result.Spec is null) return;

        // Two models generating the same class: report on both, emit neither (the user's code then fails to bind,
        // pointing them at MG0301 rather than at CS0101 inside generated code).
        foreach ((string path, string fullName) in names)
        {
            if (path != result.Path && string.Equals(fullName, result.FullClassName, StringComparison.Ordinal))
            {
                string first = string.CompareOrdinal(path, result.Path) < 0 ? path : result.Path;
                string second = first == path ? result.Path : path;
                context.ReportDiagnostic(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateClassName, result.Path,
                    System.IO.Path.GetFileName(first), System.IO.Path.GetFileName(second), result.FullClassName).ToDiagnostic());
                return;
            }
        }

        using var culture = new Common.InvariantCultureScope(enter: true);
        try
        {
            foreach ((string hintName, string source) in ModelEmitter.Emit(result.Spec))
            {
                context.AddSource(hintName, SourceText.From(source, System.Text.Encoding.UTF8));
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            context.ReportDiagnostic(DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, result.Path,
                result.Spec.ModelFileName, "emitter: " + e.GetType().Name + ": " + e.Message).ToDiagnostic());
        }
    }
}
