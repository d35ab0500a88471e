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
/// Cost model: a worker spins on a generation counter for a while after each part (<see cref="DefaultSpin"/> unless the
/// instance was given another) and only then blocks; the caller spins until the parts are done. A fork-join is then
/// about a microsecond, so generated code can use the pool for layers of ~100 microseconds. Waking a blocked worker
/// costs tens of microseconds on bare metal but milliseconds on a shared VM whose idle vCPU the host has descheduled
/// (measured here: alternating one-thread and two-thread runs of MobileNetV2, a 0.5 ms spin gave the two-thread
/// instance a 1.03-1.16x speedup, a 20 ms spin 1.76-1.81x), so the spin covers the gap between inferences of a
/// frame loop, not only the gaps between layers. Past its first 50 microseconds the spin yields the core on each
/// round, so idle workers give way to runnable threads. Not reentrant: one model instance runs one inference at a time.
/// </remarks>
public sealed unsafe class WorkerPool : IDisposable
{
    /// <summary>
    /// How long an idle worker spins for the next part before it blocks, by default: 20 ms, past the gap between two
    /// inferences of a 30 frames/s loop running a model of 13 ms or more (consecutive layers of one inference arrive
    /// within microseconds). The price is a busy core for up to that long after each inference.
    /// </summary>
    public static readonly TimeSpan DefaultSpin = TimeSpan.FromMilliseconds(20);

    /// <summary>Below this much idle time a spinning worker does not yield its core.</summary>
    private static readonly long NoYieldTicks = System.Diagnostics.Stopwatch.Frequency / 20000; // 50 us

    private readonly long _spinTicks;

    private readonly Thread[] _threads;
    private readonly ManualResetEventSlim[] _wake;
    private readonly int[] _sleeping;
    private readonly byte*[] _scratch;
    private delegate*<nint*, int, int, float*, void> _work;
    private nint* _args;
    private int _generation;
    private int _pending;
    private volatile bool _stopping;

    /// <summary>Starts <paramref name="degree"/> - 1 worker threads, each with <paramref name="scratchBytes"/> of private scratch, spinning <see cref="DefaultSpin"/> when idle.</summary>
    /// <param name="degree">Number of workers including the calling thread (at least 2).</param>
    /// <param name="scratchBytes">Private scratch per worker (64-byte aligned).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="degree"/> is below 2.</exception>
    public WorkerPool(int degree, long scratchBytes) : this(degree, scratchBytes, DefaultSpin)
    {
    }

    /// <summary>Starts <paramref name="degree"/> - 1 worker threads, each with <paramref name="scratchBytes"/> of private scratch.</summary>
    /// <param name="degree">Number of workers including the calling thread (at least 2).</param>
    /// <param name="scratchBytes">Private scratch per worker (64-byte aligned).</param>
    /// <param name="spin">How long an idle worker spins for the next part before it blocks (zero: block at once).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="degree"/> is below 2, or <paramref name="spin"/> is negative.</exception>
    public WorkerPool(int degree, long scratchBytes, TimeSpan spin)
    {
        if (degree < 2) throw new ArgumentOutOfRangeException(nameof(degree), degree, "A worker pool needs at least 2 workers.");
        ValidateSpin(spin, nameof(spin));
        _spinTicks = (long)(spin.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
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

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a negative spin time (generated constructors check theirs before allocating).</summary>
    /// <param name="spin">The spin time.</param>
    /// <param name="parameterName">The caller's parameter name.</param>
    public static void ValidateSpin(TimeSpan spin, string parameterName)
    {
        if (spin < TimeSpan.Zero) throw new ArgumentOutOfRangeException(parameterName, spin, "The worker spin time must not be negative.");
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
            // Wait for the next generation: spin first (yielding the core past the first 50 us), block when idle for longer
            // than the spin time.
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _generation) == seen && !_stopping)
            {
                long idle = System.Diagnostics.Stopwatch.GetTimestamp() - start;
                if (idle < _spinTicks)
                {
                    Thread.SpinWait(20);
                    if (idle >= NoYieldTicks) Thread.Yield();
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
    public static int ChunkSize(int count, int workers) =>
        workers == 1 ? Math.Max(1, count) : Math.Max(Math.Max(1, count / (workers * 4)), (count + 16383) / 16384);

    /// <summary>
    /// Claims the next chunk of <paramref name="count"/> items: returns its first item, or <paramref name="count"/> when
    /// none is left. The first half of the workers claims chunks from the front, the others from the back, so a loop over
    /// rows gives each half of the workers the same part of the image in every layer (the rows a layer reads are then
    /// mostly in the cache of the core that wrote them), while a busier core still ends up with fewer chunks.
    /// </summary>
    /// <remarks>
    /// The cursor packs the chunks claimed from the front (low 16 bits) and from the back (high 16 bits); a claim is one
    /// atomic add, and chunk j goes to the side whose add brings front + back to at most the number of chunks (each
    /// chunk exactly once, whatever the interleaving). <see cref="ChunkSize"/> keeps the number of chunks far below 2^15.
    /// </remarks>
    /// <param name="cursor">The layer's shared cursor (zeroed before the fork).</param>
    /// <param name="chunk">Chunk size (<see cref="ChunkSize"/>).</param>
    /// <param name="count">Items in the loop.</param>
    /// <param name="worker">This worker's index.</param>
    /// <param name="workers">All workers.</param>
    public static int NextChunk(int* cursor, int chunk, int count, int worker, int workers)
    {
        int chunks = (count + chunk - 1) / chunk;
        bool back = worker >= (workers + 1) / 2;
        int state = Interlocked.Add(ref *cursor, back ? 1 << 16 : 1);
        int front = state & 0xFFFF, fromBack = (int)((uint)state >> 16);
        if (front + fromBack > chunks) return count;
        return (back ? chunks - fromBack : front - 1) * chunk;
    }
}
