// Licensed under the MIT license.
// The process runner's own contract: a hang is killed, reported with its output, and does not stall the test run.

using System.Diagnostics;
using Xunit;

namespace ModelGen.Package.Tests;

public sealed class ChildProcessTests
{
    [Fact]
    public void A_process_that_outlives_its_timeout_is_killed_with_its_children_and_reported()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "Uses /bin/sh.");
        var stopwatch = Stopwatch.StartNew();
        var e = Assert.Throws<TimeoutException>(() => ChildProcess.Run("/bin/sh", ["-c", "echo started; sleep 120"],
            Path.GetTempPath(), TimeSpan.FromSeconds(2)));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"Took {stopwatch.Elapsed} to give up");
        Assert.Contains("was killed", e.Message);
        Assert.Contains("started", e.Message);
    }
}
