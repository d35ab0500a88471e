// Licensed under the MIT license.
// The worker pool's chunk claiming (WorkerPool.ChunkSize / NextChunk), which every parallel layer's parts loop on: each
// item claimed exactly once whatever the interleaving, the first half of the workers at the front of the range and the
// others at the back (the rows a layer writes stay with the same workers from layer to layer), and the same through
// real threads.

using ModelGen.Runtime;
using Xunit;

namespace ModelGen.Conformance.Tests;

public sealed unsafe class WorkerPoolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Every_item_is_claimed_once_front_workers_before_back_workers(int workers)
    {
        var random = new Random(17);
        foreach (int count in Enumerable.Range(1, 90).Concat(new[] { 1000, 4097, 100_000 }))
        {
            for (int round = 0; round < 20; round++)
            {
                int chunk = WorkerPool.ChunkSize(count, workers), cursor = 0;
                int[] owner = Enumerable.Repeat(-1, count).ToArray();
                var done = new bool[workers];
                // Claims in a random order of workers (a single-threaded model of any interleaving of the atomic adds).
                while (done.Contains(false))
                {
                    int w = random.Next(workers);
                    if (done[w]) continue;
                    int pb = WorkerPool.NextChunk(&cursor, chunk, count, w, workers);
                    if (pb >= count)
                    {
                        done[w] = true;
                        continue;
                    }
                    Assert.True(pb % chunk == 0, $"count {count}: chunk start {pb} is not a multiple of {chunk}");
                    for (int i = pb; i < Math.Min(pb + chunk, count); i++)
                    {
                        Assert.True(owner[i] < 0, $"count {count}, {workers} workers: item {i} claimed by workers {owner[i]} and {w}");
                        owner[i] = w;
                    }
                }
                Assert.True(owner.All(o => o >= 0), $"count {count}, {workers} workers: item {Array.IndexOf(owner, -1)} never claimed");
                // Front workers' items all come before the back workers' items.
                int front = (workers + 1) / 2;
                int lastFront = Array.FindLastIndex(owner, o => o < front), firstBack = Array.FindIndex(owner, o => o >= front);
                Assert.True(firstBack < 0 || lastFront < firstBack, $"count {count}, {workers} workers: front item {lastFront} after back item {firstBack}");
            }
        }
    }

    [Fact]
    public void Chunks_stay_within_the_cursor_packing()
    {
        foreach (int workers in new[] { 2, 3, 8, 64 })
        {
            foreach (int count in new[] { 1, 7, 1 << 16, 1 << 20, int.MaxValue / 2 })
            {
                int chunk = WorkerPool.ChunkSize(count, workers);
                long chunks = ((long)count + chunk - 1) / chunk;
                Assert.True(chunks + workers < 1 << 15, $"{count} items over {workers} workers: {chunks} chunks");
            }
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Threads_claim_every_item_once(int degree)
    {
        const int count = 997;
        int[] hits = new int[count];
        using var pool = new WorkerPool(degree, 64);
        nint* args = stackalloc nint[2];
        fixed (int* h = hits)
        {
            args[0] = (nint)h;
            for (int run = 0; run < 300; run++)
            {
                args[1] = 0;
                pool.Run(&Part, args, null);
            }
        }
        Assert.All(hits, h => Assert.Equal(300, h));
    }

    private static void Part(nint* args, int worker, int workers, float* scratch)
    {
        int* hits = (int*)args[0];
        int* cursor = (int*)(args + 1);
        int chunk = WorkerPool.ChunkSize(997, workers);
        for (int pb; (pb = WorkerPool.NextChunk(cursor, chunk, 997, worker, workers)) < 997;)
        {
            for (int i = pb; i < Math.Min(pb + chunk, 997); i++) Interlocked.Increment(ref hits[i]);
        }
    }
}
