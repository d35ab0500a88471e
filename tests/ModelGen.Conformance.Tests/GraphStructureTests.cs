// Licensed under the MIT license.
// Odd but valid graphs, as ONNX Runtime runs them: nodes out of topological order, unused nodes, an output that is
// also an intermediate value, an initializer that is also listed as a graph input (a constant for ModelGen, MG0005),
// several inputs and outputs, an output that is a graph input. Compared with ONNX Runtime at 1e-5 + 1e-5 |r|.

using Microsoft.CodeAnalysis;
using ModelGen.Runtime;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed class GraphStructureTests
{
    [Fact]
    public void Odd_graphs_run_as_onnx_runtime_runs_them()
    {
        var b = new OnnxBuilder { IrVersion = 8 };
        b.Input("x", 1, 3, 8, 8);
        b.Input("scale", 1, 3, 1, 1);
        b.Input("bias", 3, 1, 1); // also an initializer: a constant (MG0005)
        b.Initializer(OnnxTensor.RandomFloats("bias", new long[] { 3, 1, 1 }, 3));
        b.Initializer(OnnxTensor.RandomFloats("w", new long[] { 4, 3, 3, 3 }, 4));
        // Listed consumers first: the generator must sort them.
        b.Node("Sigmoid", new[] { "conv" }, new[] { "probs" }, name: "sigmoid");
        b.Node("Conv", new[] { "mid", "w" }, new[] { "conv" }, name: "conv", attributes: OnnxAttribute.Ints("pads", 1, 1, 1, 1));
        b.Node("Tanh", new[] { "mid" }, new[] { "unused" }, name: "dead"); // feeds nothing
        b.Node("Add", new[] { "scaled", "bias" }, new[] { "mid" }, name: "add");
        b.Node("Mul", new[] { "x", "scale" }, new[] { "scaled" }, name: "mul");
        b.Output("probs", 1, 4, 8, 8);
        b.Output("mid", 1, 3, 8, 8);   // also consumed by the convolution
        b.Output("scale", 1, 3, 1, 1); // a graph input passed through
        string path = b.Save(Path.Combine(Path.GetTempPath(), "modelgen-graph-tests", "odd-graph.onnx"));

        GeneratorRun run = GeneratorHarness.Run(path);
        Assert.Equal(new[] { "MG0005" }, run.Diagnostics.Select(d => d.Id).Distinct());
        Assert.All(run.Diagnostics, d => Assert.Equal(DiagnosticSeverity.Info, d.Severity));
        using LoadedAssembly asm = run.Load();
        using ICompiledModel model = asm.Create("TestApp.OddGraph");
        Assert.Equal(new[] { "x", "scale" }, model.Inputs.Select(i => i.Name));
        Assert.Equal(new[] { "probs", "mid", "scale" }, model.Outputs.Select(o => o.Name));
        string? error = OrtComparison.Compare(path, model, new Tolerance(1e-5, 1e-5), seed: 9);
        Assert.True(error is null, error);
    }
}
