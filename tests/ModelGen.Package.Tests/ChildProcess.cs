// Licensed under the MIT license.
// Runs the dotnet CLI (and the programs it builds) as child processes with a time limit, capturing their output.

using System.Diagnostics;
using System.Text;
using Xunit;

namespace ModelGen.Package.Tests;

/// <summary>A finished child process: its exit code and its stdout and stderr, interleaved as they arrived.</summary>
public sealed record ProcessResult(string CommandLine, string WorkingDirectory, int ExitCode, string Output, TimeSpan Elapsed)
{
    /// <summary>Everything needed to understand a failure: the command, where, how it ended and all it printed.</summary>
    public override string ToString() =>
        $"`{CommandLine}` in {WorkingDirectory} exited with code {ExitCode} after {Elapsed.TotalSeconds:F1} s. Output:\n{Output}";
}

public static class ChildProcess
{
    /// <summary>Runs <paramref name="fileName"/> and waits at most <paramref name="timeout"/>; on a hang kills its whole
    /// process tree and throws with the output so far.</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string argument in arguments) startInfo.ArgumentList.Add(argument);

        // `dotnet test` runs the tests with MSBuild's own variables set (MSBuildExtensionsPath, MSBuildSDKsPath, ...);
        // a child build must find its SDK by itself, like a user's shell would.
        foreach (string key in startInfo.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            startInfo.Environment.Remove(key);
        }
        // No MSBuild worker nodes outliving the build (they would inherit our pipes and burn the 2 cores' memory).
        startInfo.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        startInfo.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // "warning"/"error" in MSBuild's diagnostics lines are localized; the tests match the English words.
        startInfo.Environment["DOTNET_CLI_UI_LANGUAGE"] = "en-US";
        if (environment is not null)
        {
            foreach ((string key, string value) in environment) startInfo.Environment[key] = value;
        }

        string commandLine = fileName + " " + string.Join(" ", startInfo.ArgumentList.Select(a => a.Contains(' ') ? $"\"{a}\"" : a));
        var output = new StringBuilder();
        var stdoutClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderrClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        using var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(e.Data, stdoutClosed);
        process.ErrorDataReceived += (_, e) => Append(e.Data, stderrClosed);
        process.Exited += (_, _) => exited.TrySetResult();

        var stopwatch = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Waits for the exit itself, not for the pipes to close: a grandchild (the compiler server) may inherit them.
        if (!exited.Task.Wait(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited just now.
            }
            process.WaitForExit(10_000);
            throw new TimeoutException($"`{commandLine}` in {workingDirectory} did not finish within {timeout.TotalSeconds:F0} s and was killed. Output so far:\n{Snapshot()}");
        }
        // The last lines are still in flight when the exit is seen; wait for end-of-stream, but only briefly.
        bool closed = Task.WaitAll(new[] { stdoutClosed.Task, stderrClosed.Task }, TimeSpan.FromSeconds(10));
        stopwatch.Stop();
        // Timings in the test output (visible with the runner's -showLiveOutput, or in the test log on failure).
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"[{stopwatch.Elapsed.TotalSeconds,6:F1} s] exit {process.ExitCode}{(closed ? "" : " (output still open)")}: {commandLine}");
        return new ProcessResult(commandLine, workingDirectory, process.ExitCode, Snapshot(), stopwatch.Elapsed);

        void Append(string? line, TaskCompletionSource closed)
        {
            if (line is null)
            {
                closed.TrySetResult();
                return;
            }
            lock (output) output.AppendLine(line);
        }

        string Snapshot()
        {
            lock (output) return output.ToString();
        }
    }
}
