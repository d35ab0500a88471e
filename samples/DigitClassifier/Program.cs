// The ModelGen sample: classifies 8x8 handwritten digits with DigitsModel, the C# class ModelGen generated at build
// time from model/digits.onnx (see DigitClassifier.csproj), and checks the result.
//
//   dotnet run --project samples/DigitClassifier -c Release            the 40 bundled test images: predictions,
//                                                                       accuracy, agreement with PyTorch, latency
//   dotnet run --project samples/DigitClassifier -c Release -- PATH    your own PGM image, or a folder of them
//
// Exit code: 0 on success; 1 if on the bundled images the accuracy is below 95% or a logit differs from PyTorch's
// by more than 1e-3 (so the sample doubles as a smoke test); 2 for bad arguments or unreadable images.

using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using DigitClassifier;
using ModelGen.OnnxRuntime;

return Sample.Run(args);

internal static partial class Sample
{
    private const double MinAccuracy = 0.95;
    private const double MaxPyTorchDifference = 1e-3;
    private const int WarmupRuns = 500;
    private const int TimedRuns = 2000;

    private sealed record Item(string Name, int? Label, float[] Input);

    private sealed record Result(Item Item, float[] Logits, int Predicted, float Confidence);

    public static int Run(string[] args)
    {
        if (args.Length > 1 || (args.Length == 1 && args[0] is "-h" or "--help" or "-?"))
        {
            Console.Error.WriteLine("usage: DigitClassifier [PATH]");
            Console.Error.WriteLine("  no PATH: classify the 40 bundled test images and check the results (a smoke test)");
            Console.Error.WriteLine("  PATH:    a binary PGM (P5) image, or a folder of *.pgm files, to classify: white (high) digit on");
            Console.Error.WriteLine("           black (0), 8x8, or a multiple of 8 in both directions (averaged down to 8x8)");
            return args.Length == 1 && args[0] is "-h" or "--help" or "-?" ? 0 : 2;
        }
        bool bundled = args.Length == 0;
        string imagePath = bundled ? Path.Combine(AppContext.BaseDirectory, "images") : Path.GetFullPath(args[0]);

        // 1. Read the images.
        List<string> files;
        if (Directory.Exists(imagePath))
        {
            files = Directory.GetFiles(imagePath, "*.pgm").Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0)
                return Fail($"{imagePath} contains no .pgm files.");
        }
        else if (File.Exists(imagePath))
        {
            files = [imagePath];
        }
        else
        {
            return Fail($"{imagePath} does not exist.");
        }
        var items = new List<Item>();
        int unreadable = 0;
        foreach (string file in files)
        {
            try
            {
                items.Add(new Item(Path.GetFileName(file), LabelFromName(Path.GetFileName(file)), ToModelInput(PgmImage.Read(file), file)));
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                unreadable++;
            }
        }
        if (items.Count == 0)
            return 2;

        Console.WriteLine($"DigitsModel: {DigitsModel.ModelFileName} compiled to C# by ModelGen at build time (profile {DigitsModel.TargetProfile}, model hash {DigitsModel.ModelHash})");
        using var model = new DigitsModel();
        Console.WriteLine($"  input  {model.Inputs[0]}, output {model.Outputs[0]}; CPU path: {CpuPath()}");
        Console.WriteLine();

        // 2. Classify them with the generated class: typed Run(ReadOnlySpan<float> image, Span<float> logits).
        var results = new List<Result>();
        foreach (Item item in items)
        {
            var logits = new float[DigitsModel.LogitsElementCount];
            model.Run(item.Input, logits);
            int predicted = ArgMax(logits);
            results.Add(new Result(item, logits, predicted, Softmax(logits)[predicted]));
        }
        int nameWidth = Math.Max(4, results.Max(r => r.Item.Name.Length));
        Console.WriteLine($"{"file".PadRight(nameWidth)}  label  predicted  confidence");
        foreach (Result r in results)
        {
            string label = r.Item.Label?.ToString(CultureInfo.InvariantCulture) ?? "?";
            string mark = r.Item.Label is null ? "" : r.Item.Label == r.Predicted ? "✓" : "✗";
            Console.WriteLine($"{r.Item.Name.PadRight(nameWidth)}  {label,5}  {r.Predicted,9}  {r.Confidence * 100,9:0.0}%  {mark}");
        }
        Console.WriteLine();

        var failures = new List<string>();
        var labelled = results.Where(r => r.Item.Label is not null).ToList();
        if (labelled.Count > 0)
        {
            int correct = labelled.Count(r => r.Item.Label == r.Predicted);
            double accuracy = (double)correct / labelled.Count;
            Console.WriteLine($"Accuracy: {correct}/{labelled.Count} = {accuracy * 100:0.0}%{(bundled ? "" : " (of the images named *_labelD.pgm)")}");
            if (bundled && accuracy < MinAccuracy)
                failures.Add($"accuracy {accuracy * 100:0.0}% is below {MinAccuracy * 100:0}%");
        }

        if (bundled)
        {
            // 3. Compare with the logits PyTorch computed for the same images (written by model/train_digits.py).
            CompareWithPyTorch(results, failures);

            // 4. Latency of one Run on one instance.
            MeasureLatency(model, items[0].Input);
            Console.WriteLine($"Memory per instance: ActivationBytes = {DigitsModel.ActivationBytes:N0}, PackedWeightBytes = {DigitsModel.PackedWeightBytes:N0} "
                + "(the other weights are read in place from the embedded model)");
        }

        // 5. Compare with ONNX Runtime, if it is on this machine.
        CompareWithOnnxRuntime(model, results);

        if (unreadable > 0)
        {
            Console.WriteLine($"{unreadable} of {files.Count} files could not be read (see the errors above).");
            return 2;
        }
        if (!bundled)
            return 0;
        Console.WriteLine();
        if (failures.Count > 0)
        {
            Console.WriteLine($"FAILED: {string.Join("; ", failures)}.");
            return 1;
        }
        Console.WriteLine($"OK: accuracy at least {MinAccuracy * 100:0}% and every logit within {MaxPyTorchDifference:0e0} of PyTorch.");
        return 0;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
    }

    [GeneratedRegex(@"_label(\d)\.pgm$", RegexOptions.IgnoreCase)]
    private static partial Regex LabelPattern();

    /// <summary>The true digit, taken from a file name like <c>0021_label1.pgm</c>; null if the name does not say.</summary>
    private static int? LabelFromName(string name)
    {
        Match m = LabelPattern().Match(name);
        return m.Success ? m.Groups[1].Value[0] - '0' : null;
    }

    /// <summary>
    /// The model input: 8x8 floats, pixel/16 for the bundled images (train_digits.py: float32(pixel) / float32(16)).
    /// In general a value v of an image with maximum value M becomes v/M, which for M = 16 is the same float; images
    /// larger than 8x8 (a multiple of 8 in both directions) are averaged down over blocks, which is how scikit-learn
    /// made the 8x8 digits from 32x32 bitmaps (counting the ink pixels in each 4x4 block).
    /// </summary>
    private static float[] ToModelInput(PgmImage image, string path)
    {
        const int Side = 8;
        if (image.Width % Side != 0 || image.Height % Side != 0)
            throw new InvalidDataException($"{path}: the image is {image.Width}x{image.Height}; the model needs 8x8, or a multiple of 8 in both directions (which is averaged down).");
        int bw = image.Width / Side, bh = image.Height / Side;
        var input = new float[DigitsModel.ImageElementCount];
        for (int y = 0; y < Side; y++)
        {
            for (int x = 0; x < Side; x++)
            {
                if (bw == 1 && bh == 1)
                {
                    input[y * Side + x] = image.Pixels[y * image.Width + x] / (float)image.MaxValue;
                    continue;
                }
                long sum = 0;
                for (int dy = 0; dy < bh; dy++)
                    for (int dx = 0; dx < bw; dx++)
                        sum += image.Pixels[(y * bh + dy) * image.Width + x * bw + dx];
                input[y * Side + x] = (float)(sum / ((double)image.MaxValue * bw * bh));
            }
        }
        return input;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    private static float[] Softmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        var p = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += p[i] = Math.Exp(logits[i] - max);
        return p.Select(v => (float)(v / sum)).ToArray();
    }

    private static string CpuPath() =>
        // The generated layers choose their kernels at run time in this order.
        System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "AVX-512"
        : System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported ? "AVX2+FMA"
        : "scalar";

    private static void CompareWithPyTorch(List<Result> results, List<string> failures)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "model", "expected.txt");
        var expected = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(path))
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3 + DigitsModel.LogitsElementCount)
                throw new InvalidDataException($"{path}: expected {3 + DigitsModel.LogitsElementCount} columns, found {f.Length}: '{line}'");
            expected[f[0]] = f.Skip(3).Select(s => float.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
        }
        double maxDiff = 0;
        string worst = "";
        var missing = new List<string>();
        foreach (Result r in results)
        {
            if (!expected.TryGetValue(r.Item.Name, out float[]? reference))
            {
                missing.Add(r.Item.Name);
                continue;
            }
            for (int i = 0; i < reference.Length; i++)
            {
                double d = Math.Abs((double)r.Logits[i] - reference[i]);
                if (d > maxDiff) (maxDiff, worst) = (d, $"{r.Item.Name}, logit {i}");
            }
        }
        int compared = results.Count - missing.Count;
        Console.WriteLine($"PyTorch (model/expected.txt): max |logit difference| = {maxDiff:0.00e0} over {compared} images x {DigitsModel.LogitsElementCount} logits{(worst.Length > 0 ? $" (at {worst})" : "")}; limit {MaxPyTorchDifference:0e0}");
        if (missing.Count > 0)
            failures.Add($"no PyTorch logits for {string.Join(", ", missing)}");
        if (maxDiff > MaxPyTorchDifference)
            failures.Add($"logits differ from PyTorch by up to {maxDiff:0.00e0} (limit {MaxPyTorchDifference:0e0})");
    }

    private static void MeasureLatency(DigitsModel model, float[] input)
    {
        var logits = new float[DigitsModel.LogitsElementCount];
        for (int i = 0; i < WarmupRuns; i++)
            model.Run(input, logits);
        var ticks = new long[TimedRuns];
        for (int i = 0; i < TimedRuns; i++)
        {
            long start = Stopwatch.GetTimestamp();
            model.Run(input, logits);
            ticks[i] = Stopwatch.GetTimestamp() - start;
        }
        Array.Sort(ticks);
        double Us(long t) => t * 1e6 / Stopwatch.Frequency;
        Console.WriteLine($"Latency of one Run, one instance, {TimedRuns:N0} runs after {WarmupRuns} warm-up runs: "
            + $"median {Us(ticks[TimedRuns / 2]):0.0} us, p90 {Us(ticks[TimedRuns * 9 / 10]):0.0} us, min {Us(ticks[0]):0.0} us");
        Console.WriteLine("  (wall-clock times measured with Stopwatch on whatever else this machine is doing; a rough guide, not a benchmark)");
    }

    private static void CompareWithOnnxRuntime(DigitsModel model, List<Result> results)
    {
        if (!OrtLibrary.TryLoad(out string? error))
        {
            Console.WriteLine($"ONNX Runtime comparison skipped: {error}");
            return;
        }
        // Give ONNX Runtime the very bytes ModelGen compiled: ModelGen.targets embeds the model as ModelGen.<file name>.
        byte[] onnx;
        using (Stream stream = typeof(DigitsModel).Assembly.GetManifestResourceStream("ModelGen." + DigitsModel.ModelFileName)
            ?? throw new InvalidOperationException($"The resource ModelGen.{DigitsModel.ModelFileName} is missing."))
        using (var buffer = new MemoryStream())
        {
            stream.CopyTo(buffer);
            onnx = buffer.ToArray();
        }
        try
        {
            using var session = new OrtSession(onnx, new OrtSessionOptions { IntraOpThreads = 1 });
            long[] shape = model.Inputs[0].Shape.Select(d => (long)d).ToArray();
            double maxDiff = 0;
            int agree = 0;
            foreach (Result r in results)
            {
                OrtTensor[] outputs = session.Run([OrtTensor.Float(model.Inputs[0].Name, (float[])r.Item.Input.Clone(), shape)]);
                float[] ort = outputs[0].GetData<float>();
                for (int i = 0; i < ort.Length; i++)
                    maxDiff = Math.Max(maxDiff, Math.Abs((double)r.Logits[i] - ort[i]));
                if (ArgMax(ort) == r.Predicted) agree++;
            }
            Console.WriteLine($"ONNX Runtime {OrtLibrary.Version}: max |logit difference| = {maxDiff:0.00e0}; argmax agrees on {agree}/{results.Count} images{(agree == results.Count ? " (all)" : "")}");
        }
        catch (Exception e) when (e is OrtException or InvalidOperationException)
        {
            Console.WriteLine($"ONNX Runtime comparison failed: {e.Message}");
        }
    }
}
