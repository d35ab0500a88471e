// Licensed under the MIT license.
// One test per diagnostic of the catalog (generator/Diagnostics/DiagnosticDescriptors.cs). Each builds the offending
// model in memory (TestSupport/OnnxBuilder) or cuts a shared model, runs the generator as the compiler would, and checks
// the ID, the severity, that the diagnostic points at the model file, the key parts of the message, and what is (not)
// generated: an error means no source at all; MG0100 (warning) still generates a class that compiles and whose Run
// throws NotSupportedException; the info diagnostics (MG0005, MG0200) generate a class that runs.

using Microsoft.CodeAnalysis;
using ModelGen.Generator.Diagnostics;
using ModelGen.OnnxRuntime;
using ModelGen.Runtime;
using ModelGen.TestSupport;
using Xunit;

namespace ModelGen.Generator.Tests;

public sealed class DiagnosticTests
{
    // ---- MG0001 Malformed model ---------------------------------------------------------------------------------

    public static TheoryData<string, int, int> MalformedInputs => new()
    {
        // kind, size (truncation length or random length), seed
        { "truncated", 1, 0 },
        { "truncated", 2, 0 },
        { "truncated", 17, 0 },
        { "truncated", 100, 0 },
        { "truncated", 1000, 0 },
        { "truncated", 13227, 0 },
        { "truncated", 26000, 0 },
        { "truncated", 26453, 0 }, // one byte short of the whole file
        { "random", 0, 0 },        // empty file
        { "random", 1, 1 },
        { "random", 7, 2 },
        { "random", 64, 3 },
        { "random", 4096, 4 },
        { "random", 100_000, 5 },
        { "text", 0, 0 },          // a text file renamed .onnx
    };

    [Theory]
    [MemberData(nameof(MalformedInputs))]
    public void MG0001_malformed_model(string kind, int size, int seed)
    {
        byte[] bytes = kind switch
        {
            "truncated" => File.ReadAllBytes(Paths.SharedModel("mnist-8.onnx"))[..size],
            "random" => RandomBytes(size, seed),
            _ => "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <!-- not a model -->\n</Project>\n"u8.ToArray(),
        };
        string file = $"{kind}-{size}.onnx";
        string path = Scratch.Write(file, bytes);

        GeneratorRun run = GeneratorHarness.Run(path);

        Diagnostic d = Expect.One(run, "MG0001", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0001" }, Expect.Ids(run));
        string message = Expect.Message(d);
        Assert.StartsWith($"Model file '{file}' is not a valid ONNX model: expected ", message);
        if (bytes.Length == 0) Assert.Contains("the file is empty", message);
        else Assert.Matches(@"at byte \d+|has none", message);
        Expect.NoSource(run);
    }

    private static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    // ---- MG0002 Model file cannot be read -------------------------------------------------------------------------

    [Theory]
    [InlineData("missing")]
    [InlineData("directory")]
    public void MG0002_unreadable_model(string kind)
    {
        string path = Path.Combine(Scratch.NewFolder(), "unreadable.onnx");
        if (kind == "directory") Directory.CreateDirectory(path); // an AdditionalFiles item that is a folder

        GeneratorRun run = GeneratorHarness.Run(path);

        Diagnostic d = Expect.One(run, "MG0002", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0002" }, Expect.Ids(run));
        Assert.StartsWith("Model file 'unreadable.onnx' cannot be read: ", Expect.Message(d));
        Expect.NoSource(run);
    }

    // ---- MG0003 External data --------------------------------------------------------------------------------------

    [Fact]
    public void MG0003_external_data_initializer()
    {
        var model = new OnnxBuilder();
        model.Input("x", 1, 4);
        model.Initializer(new OnnxTensor { Name = "bias", Type = OrtElementType.Float, Dims = new long[] { 1, 4 }, ExternalLocation = "weights.bin" });
        model.Node("Add", new[] { "x", "bias" }, new[] { "y" }, name: "add");
        model.Output("y");
        string path = Scratch.Write("external.onnx", model);

        GeneratorRun run = GeneratorHarness.Run(path);

        Diagnostic d = Expect.One(run, "MG0003", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0003" }, Expect.Ids(run));
        string message = Expect.Message(d);
        Assert.StartsWith("Tensor 'bias' keeps its data in an external file ('weights.bin')", message);
        Assert.Contains("save_as_external_data=False", message);
        Expect.NoSource(run);
    }

    // ---- MG0004 Unsupported element type ---------------------------------------------------------------------------

    [Fact]
    public void MG0004_float16_graph_input()
    {
        // Graph inputs may be float, double, integers or bool; float16 has no C# buffer type in the generated Run.
        var model = new OnnxBuilder();
        model.TypedInput("half", OrtElementType.Float16, 2, 6);
        model.Node("Relu", new[] { "half" }, new[] { "y" }, name: "relu");
        model.Output("y");
        string path = Scratch.Write("halfinput.onnx", model);

        GeneratorRun run = GeneratorHarness.Run(path);

        Diagnostic d = Expect.One(run, "MG0004", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0004" }, Expect.Ids(run));
        Assert.Equal("Tensor 'half' has element type Float16, which ModelGen does not support as a graph input (supported: float, double, int64, int32, int16, uint16, int8, uint8, bool)",
            Expect.Message(d));
        Expect.NoSource(run);
    }

    // ---- MG0005 Initializer is also a graph input (info) --------------------------------------------------------

    [Theory]
    [InlineData(4, true)]
    [InlineData(8, true)]
    [InlineData(3, false)] // before IR 4 listing initializers as inputs was required: nothing to say
    public void MG0005_initializer_listed_as_graph_input(long irVersion, bool reported)
    {
        var model = new OnnxBuilder { IrVersion = irVersion };
        model.Input("x", 1, 4);
        model.Input("bias", 1, 4);
        model.Initializer(OnnxTensor.Floats("bias", new long[] { 1, 4 }, new[] { 10f, 20f, 30f, 40f }));
        model.Node("Add", new[] { "x", "bias" }, new[] { "y" }, name: "add");
        model.Output("y");
        string path = Scratch.Write("initinput.onnx", model);

        GeneratorRun run = GeneratorHarness.Run(path);

        if (reported)
        {
            Diagnostic d = Expect.One(run, "MG0005", DiagnosticSeverity.Info, path);
            Assert.Equal("1 graph input(s) have initializers ('bias'); ModelGen treats them as constants and the generated Run does not take them", Expect.Message(d));
        }
        Assert.Equal(reported ? new[] { "MG0005" } : Array.Empty<string>(), Expect.Ids(run));

        // Generated, compiled, and the initializer is a constant: Run takes only x.
        using LoadedAssembly asm = run.Load();
        using ICompiledModel m = asm.Create("TestApp.Initinput");
        Assert.Equal(new[] { "x" }, m.Inputs.Select(i => i.Name));
        float[][] y = OrtComparison.RunCompiled(m, new[] { new[] { 1f, 2f, 3f, 4f } });
        Assert.Equal(new[] { 11f, 22f, 33f, 44f }, y[0]);
    }

    // ---- MG0006 Unsupported model feature --------------------------------------------------------------------------

    [Theory]
    [InlineData("no-opset", "no ai.onnx opset import")]
    [InlineData("no-outputs", "a graph without outputs")]
    public void MG0006_unsupported_model_feature(string kind, string feature)
    {
        OnnxBuilder model = Models.Relu();
        if (kind == "no-opset")
        {
            model.Opsets.Clear();
            model.Opset("com.example", 1);
        }
        else
        {
            model = new OnnxBuilder();
            model.Input("x", 1, 4);
            model.Node("Relu", new[] { "x" }, new[] { "y" }, name: "relu");
        }
        string path = Scratch.Write(kind + ".onnx", model);

        GeneratorRun run = GeneratorHarness.Run(path);

        Diagnostic d = Expect.One(run, "MG0006", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0006" }, Expect.Ids(run));
        Assert.Equal($"Model file '{kind}.onnx' uses {feature}, which ModelGen does not support", Expect.Message(d));
        Expect.NoSource(run);
    }

    // ---- MG0100 Unsupported operator (warning) ---------------------------------------------------------------------

    [Fact]
    public void MG0100_unsupported_operators_one_warning_each_and_run_throws()
    {
        // Two independent unsupported nodes (an unknown ai.onnx op and a custom-domain op) on parallel branches, so both
        // are reached in one build (nodes downstream of an unsupported node are skipped, not reported).
        var model = new OnnxBuilder();
        model.Opset("com.example", 1);
        model.Input("x", 1, 4);
        model.Node("Relu", new[] { "x" }, new[] { "a" }, name: "relu");
        model.Node("NotARealOp", new[] { "a" }, new[] { "y1" }, name: "unknown_node");
        model.Node("FancyGelu", new[] { "a" }, new[] { "y2" }, name: "custom_node", domain: "com.example");
        model.Output("y1");
        model.Output("y2");
        string path = Scratch.Write("two-unsupported.onnx", model);

        GeneratorRun run = GeneratorHarness.Run(path);

        Assert.Equal(new[] { "MG0100", "MG0100" }, Expect.Ids(run));
        foreach (Diagnostic d in run.Diagnostics) Expect.AssertShape(d, "MG0100", DiagnosticSeverity.Warning, path);
        string[] messages = run.Diagnostics.Select(Expect.Message).OrderBy(m => m, StringComparer.Ordinal).ToArray();
        Assert.Equal("Node 'custom_node' uses operator FancyGelu (opset 1), which ModelGen does not support (domain 'com.example'); the generated Run throws NotSupportedException", messages[0]);
        Assert.Equal("Node 'unknown_node' uses operator NotARealOp (opset 13), which ModelGen does not support; the generated Run throws NotSupportedException", messages[1]);

        // The class is still generated and compiles without any compiler warning (with TreatWarningsAsErrors the user
        // sees only the MG0100s); Run throws, naming every unsupported node.
        Assert.NotEmpty(run.Sources);
        Assert.Empty(run.OutputCompilation.GetDiagnostics(TestContext.Current.CancellationToken).Where(x => x.Severity >= DiagnosticSeverity.Warning));
        using LoadedAssembly asm = run.Load();
        using ICompiledModel m = asm.Create("TestApp.TwoUnsupported");
        Assert.Equal(new[] { "x" }, m.Inputs.Select(i => i.Name));
        Assert.Equal(new[] { "y1", "y2" }, m.Outputs.Select(o => o.Name));
        var e = Assert.Throws<NotSupportedException>(() => OrtComparison.RunCompiled(m, new[] { new float[4] }));
        Assert.Contains("two-unsupported.onnx", e.Message);
        Assert.Contains("MG0100", e.Message);
        Assert.Contains("NotARealOp 'unknown_node' (opset 13)", e.Message);
        Assert.Contains("FancyGelu 'custom_node' (opset 1)", e.Message);
    }

    // ---- MG0101 Invalid node ---------------------------------------------------------------------------------------

    [Fact]
    public void MG0101_conv_with_weights_of_wrong_rank()
    {
        var model = new OnnxBuilder();
        model.Input("x", 1, 2, 5, 5);
        model.Initializer(OnnxTensor.RandomFloats("w", new long[] { 3, 2, 3 }, seed: 1)); // rank 3, X has rank 4
        model.Node("Conv", new[] { "x", "w" }, new[] { "y" }, name: "conv_bad");
        model.Output("y");
        string path = Scratch.Write("badconv.onnx", model);

        GeneratorRun run = GeneratorHarness.Run(path);

        Diagnostic d = Expect.One(run, "MG0101", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0101" }, Expect.Ids(run));
        string message = Expect.Message(d);
        Assert.StartsWith("Node 'conv_bad' (Conv) is invalid: ", message);
        Assert.Contains("must have the rank of X", message);
        Expect.NoSource(run);
    }

    // ---- MG0102 Run-time-dependent shape ---------------------------------------------------------------------------

    [Fact]
    public void MG0102_reshape_shape_from_a_runtime_input()
    {
        // The shape operand is a run-time (float32, so it passes the importer) graph input.
        var model = new OnnxBuilder();
        model.Input("data", 2, 6);
        model.Input("target_shape", 2);
        model.Node("Reshape", new[] { "data", "target_shape" }, new[] { "y" }, name: "reshape_dyn");
        model.Output("y");
        string path = Scratch.Write("dynreshape.onnx", model);

        GeneratorRun run = GeneratorHarness.Run(path);

        Diagnostic d = Expect.One(run, "MG0102", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0102" }, Expect.Ids(run));
        string message = Expect.Message(d);
        Assert.StartsWith("Node 'reshape_dyn' (Reshape): input '", message);
        Assert.Contains("target_shape", message);
        Assert.Contains("must be known at build time", message);
        Expect.NoSource(run);
    }

    // ---- MG0200 Symbolic batch dimension (info) -------------------------------------------------------------------

    [Fact]
    public void MG0200_symbolic_batch_defaults_to_one_and_runs()
    {
        string path = Scratch.Write("batched.onnx", Models.Relu("N", 4));

        GeneratorRun run = GeneratorHarness.Run(path);

        Diagnostic d = Expect.One(run, "MG0200", DiagnosticSeverity.Info, path);
        Assert.Equal(new[] { "MG0200" }, Expect.Ids(run));
        Assert.Equal("Input 'x' has a symbolic leading dimension 'N'; ModelGen compiles it as 1 (set ModelGenInputShape to choose another size)", Expect.Message(d));

        Assert.Empty(run.OutputCompilation.GetDiagnostics(TestContext.Current.CancellationToken).Where(x => x.Severity >= DiagnosticSeverity.Warning));
        using LoadedAssembly asm = run.Load();
        using ICompiledModel m = asm.Create("TestApp.Batched");
        Assert.Equal(new[] { 1, 4 }, m.Inputs[0].Shape);
        float[][] y = OrtComparison.RunCompiled(m, new[] { new[] { -1f, 2f, -3f, 4f } });
        Assert.Equal(new[] { 0f, 2f, 0f, 4f }, y[0]);

        // Pinning the batch removes the info and changes the shape.
        GeneratorRun pinned = GeneratorHarness.Run(path, Expect.Meta(("ModelGenInputShape", "3x4")));
        Assert.Empty(pinned.Diagnostics);
        using LoadedAssembly asm3 = pinned.Load();
        using ICompiledModel m3 = asm3.Create("TestApp.Batched");
        Assert.Equal(new[] { 3, 4 }, m3.Inputs[0].Shape);
    }

    // ---- MG0201 Symbolic dimension not pinned ----------------------------------------------------------------------

    [Fact]
    public void MG0201_symbolic_non_batch_dimension_needs_a_pin()
    {
        string path = Scratch.Write("dynamic.onnx", Models.Relu(1, "height", 4));

        GeneratorRun run = GeneratorHarness.Run(path);

        Diagnostic d = Expect.One(run, "MG0201", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0201" }, Expect.Ids(run));
        Assert.Equal("Input 'x' has symbolic dimension 'height' at axis 1; set ModelGenInputShape on the AdditionalFiles item (e.g. ModelGenInputShape=\"x=1xNx4\")",
            Expect.Message(d));
        Expect.NoSource(run);

        // With a pin (positional or by name) it compiles with the pinned shape.
        foreach (string pin in new[] { "1x5x4", "x=1x5x4" })
        {
            GeneratorRun pinned = GeneratorHarness.Run(path, Expect.Meta(("ModelGenInputShape", pin)));
            Assert.Empty(pinned.Diagnostics);
            using LoadedAssembly asm = pinned.Load();
            using ICompiledModel m = asm.Create("TestApp.Dynamic");
            Assert.Equal(new[] { 1, 5, 4 }, m.Inputs[0].Shape);
            Assert.Equal(new[] { 1, 5, 4 }, m.Outputs[0].Shape);
        }
    }

    // ---- MG0202 Invalid ModelGenInputShape -------------------------------------------------------------------------

    [Theory]
    [InlineData("1x0x4", "'0' is not a positive integer")]
    [InlineData("1xNx4", "'N' is not a positive integer")]
    [InlineData("1x-5x4", "'-5' is not a positive integer")]
    [InlineData("1x5", "input 'x' has rank 3, the option gives 2 dimensions")]
    [InlineData("2x5x4", "input 'x' has fixed size 1 at axis 0, the option gives 2")]
    [InlineData("y=1x5x4", "the model has no run-time input named 'y'")]
    [InlineData("x=1x5x4;x=1x6x4", "input 'x' is given twice")]
    [InlineData("1x5x4;x=1x5x4", "with several entries each must be name=shape")]
    public void MG0202_invalid_input_shape_option(string option, string reason)
    {
        string path = Scratch.Write("pinned.onnx", Models.Relu(1, "height", 4));

        GeneratorRun run = GeneratorHarness.Run(path, Expect.Meta(("ModelGenInputShape", option)));

        Diagnostic d = Expect.One(run, "MG0202", DiagnosticSeverity.Error, path);
        string message = Expect.Message(d);
        Assert.StartsWith("ModelGenInputShape '", message);
        Assert.Contains("' is invalid: " + reason, message);
        Expect.NoSource(run);
    }

    // ---- MG0204 Invalid ModelGenConstantInputs ---------------------------------------------------------------------

    /// <summary>data [2x6] reshaped by a run-time int64 input 'target' [2].</summary>
    private static string ReshapeByInput()
    {
        var model = new OnnxBuilder();
        model.Input("data", 2, 6);
        model.TypedInput("target", OrtElementType.Int64, 2);
        model.Node("Reshape", new[] { "data", "target" }, new[] { "y" }, name: "reshape");
        model.Output("y");
        return Scratch.Write("reshapebyinput.onnx", model);
    }

    [Theory]
    [InlineData("target", "'target' is not name=values")]
    [InlineData("other=3,4", "the model has no run-time input named 'other'")]
    [InlineData("target=3,x", "'x' is not a number")]
    [InlineData("target=3,4,1", "input 'target' has shape [2] (2 elements), 3 values were given")]
    public void MG0204_invalid_constant_inputs_option(string option, string reason)
    {
        string path = ReshapeByInput();

        GeneratorRun run = GeneratorHarness.Run(path, Expect.Meta(("ModelGenConstantInputs", option)));

        Diagnostic d = Expect.One(run, "MG0204", DiagnosticSeverity.Error, path);
        Assert.Equal($"ModelGenConstantInputs '{option}' is invalid: {reason}", Expect.Message(d));
        Expect.NoSource(run);
    }

    [Fact]
    public void ModelGenConstantInputs_freezes_a_shape_input_so_the_model_compiles()
    {
        string path = ReshapeByInput();
        GeneratorRun rejected = GeneratorHarness.Run(path);
        Expect.One(rejected, "MG0102", DiagnosticSeverity.Error, path);

        GeneratorRun run = GeneratorHarness.Run(path, Expect.Meta(("ModelGenConstantInputs", "target=3,4")));

        Assert.Empty(Expect.Ids(run));
        using LoadedAssembly asm = run.Load();
        using ICompiledModel m = asm.Create("TestApp.Reshapebyinput");
        Assert.Equal(new[] { "data" }, m.Inputs.Select(i => i.Name));
        Assert.Equal(new[] { 3, 4 }, m.Outputs[0].Shape);
        float[] data = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        Assert.Equal(data, OrtComparison.RunCompiled(m, new[] { data })[0]);
    }

    // ---- MG0203 Tensor too large -----------------------------------------------------------------------------------

    [Theory]
    [InlineData("computed", "Tensor 'outer' would have more than 2^31 elements, more than ModelGen supports (2^31 - 1 elements)")]
    [InlineData("input", "Tensor 'x' would have 4294967296 elements, more than ModelGen supports (2^31 - 1 elements)")]
    [InlineData("pinned-input", "Tensor 'x' would have 4294967296 elements, more than ModelGen supports (2^31 - 1 elements)")]
    [InlineData("input-dimension", "Tensor 'x' would have 3000000000 elements, more than ModelGen supports (2^31 elements)")]
    public void MG0203_tensor_too_large(string kind, string expected)
    {
        var model = new OnnxBuilder();
        IReadOnlyDictionary<string, string>? metadata = null;
        switch (kind)
        {
            case "computed":
                // [65536 x 1] x [1 x 65536] has 2^32 elements.
                model.Input("a", 65536, 1);
                model.Initializer(OnnxTensor.RandomFloats("b", new long[] { 1, 65536 }, seed: 3));
                model.Node("MatMul", new[] { "a", "b" }, new[] { "outer" }, name: "outer_product");
                model.Output("outer");
                break;
            case "input":
                // A graph input of 2^32 elements (each dimension fits in an int), passed straight to the output.
                model.Input("x", 65536, 65536);
                model.Output("x");
                break;
            case "pinned-input":
                model.Input("x", "N", "M");
                model.Node("Relu", new[] { "x" }, new[] { "y" }, name: "relu");
                model.Output("y");
                metadata = Expect.Meta(("ModelGenInputShape", "65536x65536"));
                break;
            default:
                model.Input("x", 3_000_000_000L, 1);
                model.Node("Relu", new[] { "x" }, new[] { "y" }, name: "relu");
                model.Output("y");
                break;
        }
        string path = Scratch.Write("huge.onnx", model);

        GeneratorRun run = GeneratorHarness.Run(path, metadata);

        Diagnostic d = Expect.One(run, "MG0203", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0203" }, Expect.Ids(run));
        Assert.Equal(expected, Expect.Message(d));
        Expect.NoSource(run);
    }

    // ---- MG0300 Unknown profile ------------------------------------------------------------------------------------

    [Fact]
    public void MG0300_unknown_profile()
    {
        string path = Scratch.Write("profiled.onnx", Models.Relu());

        GeneratorRun run = GeneratorHarness.Run(path, Expect.Meta(("ModelGenProfile", "riscv-rvv")));

        Diagnostic d = Expect.One(run, "MG0300", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0300" }, Expect.Ids(run));
        Assert.Equal("ModelGenProfile 'riscv-rvv' is not a known profile; known profiles: x64", Expect.Message(d));
        Expect.NoSource(run);

        // The known profile (matched case-insensitively) compiles.
        GeneratorRun ok = GeneratorHarness.Run(path, Expect.Meta(("ModelGenProfile", "X64")));
        Assert.Empty(ok.Diagnostics);
        Assert.NotEmpty(ok.Sources);
    }

    // ---- MG0303 Invalid ModelGenWinograd --------------------------------------------------------------------------

    [Theory]
    [InlineData("F6")]
    [InlineData("fast")]
    [InlineData("2")]
    public void MG0303_invalid_winograd_option(string value)
    {
        string path = Scratch.Write("wino.onnx", Models.Relu());

        GeneratorRun run = GeneratorHarness.Run(path, Expect.Meta(("ModelGenWinograd", value)));

        Diagnostic d = Expect.One(run, "MG0303", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0303" }, Expect.Ids(run));
        Assert.Equal($"ModelGenWinograd '{value}' is not one of F4 (the default), F2, Off", Expect.Message(d));
        Expect.NoSource(run);

        // The valid values, matched case-insensitively, compile.
        foreach (string ok in new[] { "F4", "f2", "OFF", "" })
        {
            GeneratorRun good = GeneratorHarness.Run(path, Expect.Meta(("ModelGenWinograd", ok)));
            Assert.Empty(good.Diagnostics);
            Assert.NotEmpty(good.Sources);
        }
    }

    // ---- MG0301 Two models map to the same class -------------------------------------------------------------------

    [Fact]
    public void MG0301_two_models_same_class_neither_generated()
    {
        string first = Scratch.Write("first.onnx", Models.Relu());
        string second = Scratch.Write("second.onnx", Models.Relu(1, 8));
        string other = Scratch.Write("other.onnx", Models.Relu());
        var shared = Expect.Meta(("ModelGenClass", "Classifier"));

        GeneratorRun run = GeneratorHarness.Run(new[] { new ModelInput(first, shared), new ModelInput(second, shared), new ModelInput(other) });

        Assert.Equal(new[] { "MG0301", "MG0301" }, Expect.Ids(run));
        foreach (string path in new[] { first, second })
        {
            Diagnostic d = Assert.Single(run.Diagnostics, x => x.Location.GetLineSpan().Path == path);
            Expect.AssertShape(d, "MG0301", DiagnosticSeverity.Error, path);
            Assert.Equal("Models 'first.onnx' and 'second.onnx' both generate class 'TestApp.Classifier'; set ModelGenClass (or ModelGenNamespace) on one of them",
                Expect.Message(d));
        }
        // Neither colliding model is generated; the third one is.
        Assert.DoesNotContain(run.Sources, s => s.HintName.StartsWith("Classifier", StringComparison.Ordinal));
        Assert.Contains(run.Sources, s => s.HintName == "Other.g.cs");

        // Two files with the same name in different folders collide through the default class name too.
        string a = Scratch.Write("model.onnx", Models.Relu());
        string b = Scratch.Write("model.onnx", Models.Relu());
        GeneratorRun same = GeneratorHarness.Run(new[] { new ModelInput(a), new ModelInput(b) });
        Assert.Equal(new[] { "MG0301", "MG0301" }, Expect.Ids(same));
        Assert.Contains("both generate class 'TestApp.Model'", Expect.Message(same.Diagnostics[0]));
        Expect.NoSource(same);
    }

    // ---- MG0302 Invalid class or namespace name --------------------------------------------------------------------

    [Theory]
    [InlineData("ModelGenClass", "1Model", "class")]
    [InlineData("ModelGenClass", "My-Model", "class")]
    [InlineData("ModelGenClass", "class", "class")]
    [InlineData("ModelGenClass", "Modèle", "class")]
    [InlineData("ModelGenNamespace", "Company..Models", "namespace")]
    [InlineData("ModelGenNamespace", "Company.2024", "namespace")]
    public void MG0302_invalid_class_or_namespace_name(string metadata, string value, string kind)
    {
        string path = Scratch.Write("named.onnx", Models.Relu());

        GeneratorRun run = GeneratorHarness.Run(path, Expect.Meta((metadata, value)));

        Diagnostic d = Expect.One(run, "MG0302", DiagnosticSeverity.Error, path);
        Assert.Equal(new[] { "MG0302" }, Expect.Ids(run));
        Assert.Equal($"'{value}' is not a valid C# {kind} name", Expect.Message(d));
        Expect.NoSource(run);
    }

    // ---- MG0900 Internal error -------------------------------------------------------------------------------------

    /// <summary>
    /// MG0900 is the generator's last-resort guard (an exception escaping the pipeline or the emitter is turned into a
    /// diagnostic instead of CS8785). It has no legitimate trigger: every user input must map to a specific diagnostic,
    /// so an MG0900 is by definition a ModelGen bug. This test therefore checks the opposite: an exhaustive
    /// single-byte mutation sweep over two small valid models (every byte position, set to 0x00, 0xFF and its value
    /// plus one) never produces MG0900 or a generator exception, and always ends in an MG error without source or in
    /// generated source without errors. (RobustnessTests does the same on real models, with compilation.)
    /// </summary>
    [Fact]
    public void MG0900_never_reported_for_mutated_models()
    {
        var seeds = new List<(string Name, byte[] Bytes)>
        {
            ("relu", Models.Relu().ToBytes()),
            ("conv", ConvModel().ToBytes()),
        };
        int runs = 0, errors = 0;
        foreach ((string name, byte[] original) in seeds)
        {
            for (int pos = 0; pos < original.Length; pos++)
            {
                foreach (byte v in new[] { (byte)0x00, (byte)0xFF, (byte)(original[pos] + 1) }.Distinct())
                {
                    if (original[pos] == v) continue;
                    byte[] mutated = (byte[])original.Clone();
                    mutated[pos] = v;
                    string path = Scratch.Write($"{name}.onnx", mutated);
                    GeneratorRun run = GeneratorHarness.Run(path);
                    runs++;
                    string label = $"{name} byte {pos} = 0x{v:X2}";
                    Assert.True(run.Result.Results.All(r => r.Exception is null), $"{label}: generator exception");
                    Assert.False(run.Diagnostics.Any(d => d.Id is "MG0900" or "CS8785"), $"{label}:\n{Expect.Dump(run.Diagnostics)}");
                    Assert.All(run.Diagnostics, d => Assert.StartsWith("MG", d.Id));
                    Assert.All(run.Diagnostics, d => Assert.Equal(path, d.Location.GetLineSpan().Path));
                    bool failed = run.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error);
                    if (failed) errors++;
                    Assert.True(failed == (run.Sources.Count == 0), $"{label}: errors {failed}, sources {run.Sources.Count}\n{Expect.Dump(run.Diagnostics)}");
                    File.Delete(path);
                }
            }
        }
        Assert.InRange(runs, 600, 1200);
        Assert.InRange(errors, runs / 4, runs - 1);
        Assert.Equal(DiagnosticSeverity.Error, DiagnosticDescriptors.Get("MG0900").DefaultSeverity);
    }

    /// <summary>Conv (with bias and pads) -> Relu -> Reshape by an int64 initializer, batch symbolic: small but varied.</summary>
    private static OnnxBuilder ConvModel()
    {
        var model = new OnnxBuilder();
        model.Input("x", "N", 2, 5, 5);
        model.Initializer(OnnxTensor.RandomFloats("w", new long[] { 1, 2, 1, 1 }, seed: 1));
        model.Initializer(OnnxTensor.RandomFloats("b", new long[] { 1 }, seed: 2));
        model.Initializer(OnnxTensor.Int64s("shape", new long[] { 2 }, new long[] { 1, -1 }));
        model.Node("Conv", new[] { "x", "w", "b" }, new[] { "c" }, name: "conv", attributes: new[] { OnnxAttribute.Ints("pads", 1, 1, 1, 1) });
        model.Node("Relu", new[] { "c" }, new[] { "r" }, name: "relu");
        model.Node("Reshape", new[] { "r", "shape" }, new[] { "y" }, name: "flatten");
        model.Output("y", 1, 49);
        return model;
    }
}
