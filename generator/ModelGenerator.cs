// Licensed under the MIT license.
// ModelGen's incremental generator: the pipeline only. Parsing and compiling live in ModelGenerator.Parser.cs,
// text generation in ModelGenerator.Emitter.cs.

using System;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using ModelGen.Generator.Model;

namespace ModelGen.Generator;

/// <summary>Compiles every <c>.onnx</c> AdditionalFiles item into a C# class.</summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class ModelGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names for incremental-generation tests.</summary>
    public static class TrackingNames
    {
        public const string Requests = nameof(Requests);
        public const string Compiled = nameof(Compiled);
        public const string ClassNames = nameof(ClassNames);
    }

    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Which files are models, with their per-item options. Keyed on the AdditionalText itself, so an edited
        // model (a new AdditionalText) recompiles while edits to C# files leave everything cached.
        IncrementalValuesProvider<(AdditionalText Text, ModelRequest Request)> requests = context.AdditionalTextsProvider
            .Where(static t => t.Path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            .Combine(context.AnalyzerConfigOptionsProvider)
            .Select(static (pair, _) => (pair.Left, ReadRequest(pair.Left, pair.Right)))
            .WithTrackingName(TrackingNames.Requests);

        // Read, parse, run the passes and lower: the expensive step, producing an equatable spec plus diagnostics.
        IncrementalValuesProvider<ModelResult> compiled = requests
            .Select(static (item, ct) => Compile(item.Text, item.Request, ct))
            .WithTrackingName(TrackingNames.Compiled);

        // Class names of all models, to detect two models generating the same class (neither is emitted then).
        IncrementalValueProvider<ImmutableArray<(string Path, string FullName)>> names = compiled
            .Select(static (r, _) => (r.Path, r.FullClassName))
            .Collect()
            .WithTrackingName(TrackingNames.ClassNames);

        // Emit: diagnostics always; source only for models without errors and with a unique class name.
        context.RegisterSourceOutput(compiled.Combine(names), static (spc, pair) => Emit(spc, pair.Left, pair.Right));
    }
}
