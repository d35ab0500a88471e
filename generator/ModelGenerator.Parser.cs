// Licensed under the MIT license.
// Reading a model's options and bytes, and running the compile pipeline with a last-resort guard.

using System;
using System.IO;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using ModelGen.Generator.Common;
using ModelGen.Generator.Diagnostics;
using ModelGen.Generator.Model;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator;

public sealed partial class ModelGenerator
{
    private const string MetadataPrefix = "build_metadata.AdditionalFiles.";

    /// <summary>Models larger than this are rejected (ONNX protobuf files are limited to 2 GB anyway).</summary>
    private const long MaxModelBytes = int.MaxValue;

    private static ModelRequest ReadRequest(AdditionalText text, AnalyzerConfigOptionsProvider provider)
    {
        AnalyzerConfigOptions options = provider.GetOptions(text);
        AnalyzerConfigOptions global = provider.GlobalOptions;
        // Unset item metadata arrives as "", not as a missing key.
        string Item(string name) => options.TryGetValue(MetadataPrefix + name, out string? v) ? v.Trim() : "";
        string Property(string name) => global.TryGetValue("build_property." + name, out string? v) ? v.Trim() : "";
        string profile = Item("ModelGenProfile");
        if (profile.Length == 0) profile = Property("ModelGenDefaultProfile");
        return new ModelRequest
        {
            Path = text.Path,
            ClassName = Item("ModelGenClass"),
            Namespace = Item("ModelGenNamespace"),
            RootNamespace = Property("RootNamespace"),
            Profile = profile,
            InputShape = Item("ModelGenInputShape"),
            ConstantInputs = Item("ModelGenConstantInputs"),
            ResourceName = Item("ModelGenResourceName"),
            Winograd = Item("ModelGenWinograd"),
        };
    }

    private static ModelResult Compile(AdditionalText text, ModelRequest request, CancellationToken ct)
    {
        using var culture = new InvariantCultureScope(enter: true);
        try
        {
            byte[] bytes;
            try
            {
                // AdditionalText.GetText() decodes as text (lossy, or CS2015 for binary files): read the bytes instead.
#pragma warning disable RS1035 // File IO: the model is binary; its path comes from AdditionalFiles, so the build tracks it.
                var info = new FileInfo(text.Path);
                if (info.Exists && info.Length > MaxModelBytes)
                {
                    return Failure(request, DiagnosticDescriptors.UnreadableModel, request.FileName, $"the file has {info.Length} bytes (more than 2 GB)");
                }
                bytes = File.ReadAllBytes(text.Path);
#pragma warning restore RS1035
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                return Failure(request, DiagnosticDescriptors.UnreadableModel, request.FileName, e.Message);
            }
            return Pipeline.Compile(request, bytes, ct);
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            // Last resort: a bug in ModelGen must surface as a diagnostic, never as CS8785.
            return Failure(request, DiagnosticDescriptors.InternalError, request.FileName, e.GetType().Name + ": " + e.Message + " at " + FirstFrame(e));
        }
    }

    private static ModelResult Failure(ModelRequest request, DiagnosticDescriptor descriptor, params object[] args) =>
        new(request.Path, "", null, new EquatableArray<DiagnosticInfo>(new[] { DiagnosticInfo.Create(descriptor, request.Path, args) }));

    private static string FirstFrame(Exception e)
    {
        string trace = e.StackTrace ?? "";
        int nl = trace.IndexOf('\n');
        return (nl > 0 ? trace.Substring(0, nl) : trace).Trim();
    }
}
