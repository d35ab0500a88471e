// Licensed under the MIT license.
// Equatable diagnostic data carried through the incremental pipeline (no Roslyn objects, so specs cache).

using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using ModelGen.Generator.Common;

namespace ModelGen.Generator.Diagnostics;

/// <summary>A diagnostic to report: descriptor ID, message arguments and the model file it points at.</summary>
/// <remarks>Cacheability contract: only strings, so equal inputs give equal infos.</remarks>
internal sealed record DiagnosticInfo(string Id, string FilePath, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, string filePath, params object?[] args)
    {
        var strings = new string[args.Length];
        for (int i = 0; i < args.Length; i++) strings[i] = Convert.ToString(args[i], System.Globalization.CultureInfo.InvariantCulture) ?? "";
        return new DiagnosticInfo(descriptor.Id, filePath, new EquatableArray<string>(strings));
    }

    public Diagnostic ToDiagnostic()
    {
        // Point at the model file itself (line 1): the IDE and the build log show the .onnx path.
        Location location = FilePath.Length == 0
            ? Location.None
            : Location.Create(FilePath, default, new LinePositionSpan(default, default));
        return Diagnostic.Create(DiagnosticDescriptors.Get(Id), location, Arguments.ToArray());
    }
}
