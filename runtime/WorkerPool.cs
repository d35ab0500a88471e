// Licensed under the MIT license.
// Intra-op parallelism for generated models: a fixed set of worker threads owned by one model instance, running a
// layer's work split (worker index, worker count) with no allocation per run.

using System;
using System.Threading;

namespace ModelGen.Runtime;

/// <summary>
/// Fork-join over <see cref="Degree"/> workers: the calling thread is worker 0, <c>Degree - 1</c> background threads the
/// rest. <see cref="Run"/> publishes a function pointer and an argument block, wakes the workers, runs part 0 and waits
/// for the others. Each worker owns a scratch buffer for layers that need private memory.
/// </summary>
/// <remarks>
/// Cost model: a worker spins on a generation counter for up to 0.5 ms after each part (consecutive layers of one
/// inference reach it in a few microseconds) and only then blocks; the caller spins until the parts are done. A
/// fork-join is then about a microsecond, so generated code can use the pool for layers of ~100 microseconds. Not
/// reentrant: one model instance runs one inference at a time.
/// </remarks>
public sealed unsafe class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker spins for the next layer before it blocks (a wake-up from blocking costs tens of
    /// microseconds in a VM; consecutive layers of one inference arrive within a few).</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 2000; // 0.5 ms

    private readonly Thread[] _threads;
    private readonly ManualResetEventSlim[] _wake;
    private readonly int[] _sleeping;
    private readonly byte*[] _scratch;
    private delegate*<nint*, int, int, float*, void> _work;
    private nint* _args;
    private int _generation;
    private int _pending;
    private volatile bool _stopping;

    /// <summary>Starts <paramref name="degree"/> - 1 worker threads, each with <paramref name="scratchBytes"/> of private scratch.</summary>
    /// <param name="degree">Number of workers including the calling thread (at least 2).</param>
    /// <param name="scratchBytes">Private scratch per worker (64-byte aligned).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="degree"/> is below 2.</exception>
    public WorkerPool(int degree, long scratchBytes)
    {
        if (degree < 2) throw new ArgumentOutOfRangeException(nameof(degree), degree, "A worker pool needs at least 2 workers.");
        Degree = degree;
        _threads = new Thread[degree - 1];
        _wake = new ManualResetEventSlim[degree - 1];
        _sleeping = new int[degree - 1];
        _scratch = new byte*[degree];
        for (int i = 1; i < degree; i++) _scratch[i] = NativeBuffer.Allocate(Math.Max(64, scratchBytes));
        for (int i = 0; i < _threads.Length; i++)
        {
            int worker = i + 1;
            _wake[i] = new ManualResetEventSlim(false, spinCount: 1);
            _threads[i] = new Thread(() => Loop(worker)) { IsBackground = true, Name = $"ModelGen worker {worker}" };
            _threads[i].Start();
        }
    }

    /// <summary>Number of workers, the calling thread included.</summary>
    public int Degree { get; }

    /// <summary>
    /// Runs <paramref name="work"/>(args, worker, Degree, scratch) for every worker and returns when all are done. Worker
    /// 0 runs on the calling thread with <paramref name="scratch0"/>; the others use their own scratch.
    /// </summary>
    /// <param name="work">The layer's part function.</param>
    /// <param name="args">The layer's pointer arguments.</param>
    /// <param name="scratch0">Worker 0's scratch (the layer's scratch in the instance arena).</param>
    public void Run(delegate*<nint*, int, int, float*, void> work, nint* args, float* scratch0)
    {
        _work = work;
        _args = args;
        Volatile.Write(ref _pending, _threads.Length);
        Interlocked.Increment(ref _generation); // publishes the fields above (full fence)
        for (int i = 0; i < _sleeping.Length; i++)
        {
            if (Volatile.Read(ref _sleeping[i]) != 0) _wake[i].Set();
        }
        work(args, 0, Degree, scratch0);
        // The others finish at about the same time: spin, then yield (never sleep a whole scheduler tick).
        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
    }

    private void Loop(int worker)
    {
        int slot = worker - 1, seen = 0;
        while (true)
        {
            // Wait for the next generation: spin first, block when idle for longer than SpinTicks.
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _generation) == seen && !_stopping)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }
                Volatile.Write(ref _sleeping[slot], 1);
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref _generation) == seen && !_stopping) _wake[slot].Wait();
                _wake[slot].Reset();
                Volatile.Write(ref _sleeping[slot], 0);
                start = System.Diagnostics.Stopwatch.GetTimestamp();
            }
            if (_stopping)
            {
                NativeBuffer.Free(_scratch[worker]);
                return;
            }
            seen = Volatile.Read(ref _generation);
            _work(_args, worker, Degree, (float*)_scratch[worker]);
            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>
    /// Stops the workers; each frees its scratch as it exits. Does not block (safe from a finalizer); must not be called
    /// while <see cref="Run"/> is in progress.
    /// </summary>
    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        Interlocked.MemoryBarrier();
        foreach (ManualResetEventSlim w in _wake) w.Set();
    }

    /// <summary>Chunk size for <paramref name="count"/> items over <paramref name="workers"/> workers: about four chunks per worker.</summary>
    /// <param name="count">Items to share.</param>
    /// <param name="workers">All workers.</param>
    public static int ChunkSize(int count, int workers) => workers == 1 ? Math.Max(1, count) : Math.Max(1, count / (workers * 4));

    /// <summary>Claims the next chunk: returns its first item (at or past the end when none is left).</summary>
    /// <param name="cursor">The layer's shared cursor (zeroed before the fork).</param>
    /// <param name="chunk">Chunk size.</param>
    public static int NextChunk(int* cursor, int chunk) => Interlocked.Add(ref *cursor, chunk) - chunk;
}
