// Licensed under the MIT license.
// Every generated layer carries one branch per ISA (AVX-512, AVX2 + FMA, scalar) and the machine picks one. A test
// process only ever runs the branch of the machine it is on, so this runs the kernel-shape comparisons against ONNX
// Runtime a second time in a child process with the machine's best ISA switched off (DOTNET_EnableAVX512F=0 on an
// AVX-512 machine, DOTNET_EnableAVX2=0 on an AVX2 one): two of the three paths are checked on whichever machine CI
// gets, instead of one.

using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed class IsaPathTests
{
    [Fact]
    public void Kernel_shapes_match_onnx_runtime_on_the_next_isa_down()
    {
        (string variable, string path) = Avx512F.IsSupported ? ("DOTNET_EnableAVX512F", "AVX2 + FMA")
            : Avx2.IsSupported ? ("DOTNET_EnableAVX2", "scalar")
            : (null!, null!);
        Assert.SkipWhen(variable is null, "no vector ISA to switch off: the scalar path is the one every test here runs");

        string assembly = typeof(KernelShapeTests).Assembly.Location;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        start.ArgumentList.Add(assembly);
        start.ArgumentList.Add("-class");
        start.ArgumentList.Add(typeof(KernelShapeTests).FullName!);
        start.ArgumentList.Add("-noColor");
        start.Environment[variable] = "0";
        using Process child = Process.Start(start)!;
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        bool exited = child.WaitForExit(TimeSpan.FromMinutes(10));
        if (!exited) child.Kill(entireProcessTree: true);
        string log = stdout + stderr.Result;
        Assert.True(exited, $"the {path} run of the kernel-shape tests did not finish in 10 minutes:\n{Tail(log)}");
        Assert.True(child.ExitCode == 0, $"the kernel-shape tests failed on the {path} path ({variable}=0), exit code {child.ExitCode}:\n{Tail(log)}");
        // The child must have run the comparisons (not an empty filter).
        Assert.Matches(@"Total: [1-9][0-9]*, Errors: 0, Failed: 0", log);
    }

    private static string Tail(string log) => log.Length <= 6000 ? log : log[^6000..];
}
