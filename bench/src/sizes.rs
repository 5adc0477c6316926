//! The sizes of every workload: the same for every peer, full or tiny (`--smoke`).

/// How big each workload is and how many times it runs.
#[derive(Clone, Debug)]
pub(crate) struct Sizes {
    /// Repetitions of every workload on every peer.
    pub(crate) repetitions: usize,
    /// Tasks spawned by the two spawn workloads.
    pub(crate) spawned_tasks: usize,
    /// Tasks of the yield workload.
    pub(crate) yield_tasks: usize,
    /// Yields per task of the yield workload.
    pub(crate) yields_per_task: usize,
    /// Ping-pong pairs.
    pub(crate) ping_pong_pairs: usize,
    /// Round trips per ping-pong pair.
    pub(crate) ping_pong_round_trips: usize,
    /// Spawn chains.
    pub(crate) chains: usize,
    /// Spawns per chain.
    pub(crate) chain_length: usize,
    /// Producers of the many-to-one channel workload.
    pub(crate) producers: usize,
    /// Messages per producer.
    pub(crate) messages_per_producer: usize,
    /// The channel capacity of the many-to-one workload.
    pub(crate) producer_channel_capacity: usize,
    /// Timers armed at once under load.
    pub(crate) timers: usize,
    /// Timers armed on an otherwise idle runtime.
    pub(crate) idle_timers: usize,
    /// Timers of the burst workload, registered before the start.
    pub(crate) burst_timers: usize,
    /// How long after the last burst task is spawned the burst's start is.
    pub(crate) burst_lead_ms: u64,
    /// Timer durations run from 1 ms to this many milliseconds.
    pub(crate) longest_timer_ms: u64,
    /// Wake-ups measured by the wake latency workload.
    pub(crate) wake_samples: usize,
    /// Microseconds between two wake-ups.
    pub(crate) wake_interval_us: u64,
    /// TCP echo connections.
    pub(crate) echo_connections: usize,
    /// Round trips per echo connection.
    pub(crate) echo_round_trips: u32,
    /// TCP echo connections of the many-connection (tail latency) echo.
    pub(crate) many_echo_connections: usize,
    /// Round trips per connection of the many-connection echo.
    pub(crate) many_echo_round_trips: u32,
    /// Keep-alive connections of the `http` workload.
    pub(crate) http_connections: usize,
    /// Requests per connection of the `http` workload, one in flight at a time.
    pub(crate) http_requests: u32,
    /// Idle tasks whose memory is measured.
    pub(crate) idle_tasks: usize,
    /// Idle connections whose memory is measured.
    pub(crate) idle_connections: usize,
    /// Timers armed at once, then all cancelled, whose memory is measured.
    pub(crate) armed_timers: usize,
}

impl Sizes {
    /// The sizes of the full comparison (issue 7).
    pub(crate) const FULL: Sizes = Sizes {
        repetitions: 5,
        spawned_tasks: 100_000,
        yield_tasks: 200,
        yields_per_task: 500,
        ping_pong_pairs: 100,
        ping_pong_round_trips: 1_000,
        chains: 100,
        chain_length: 1_000,
        producers: 4,
        messages_per_producer: 100_000,
        producer_channel_capacity: 1_024,
        timers: 100_000,
        idle_timers: 1_000,
        burst_timers: 100_000,
        burst_lead_ms: 100,
        longest_timer_ms: 50,
        wake_samples: 2_000,
        wake_interval_us: 200,
        echo_connections: 64,
        echo_round_trips: 1_000,
        many_echo_connections: 512,
        many_echo_round_trips: 200,
        http_connections: 64,
        http_requests: 500,
        idle_tasks: 100_000,
        idle_connections: 10_000,
        armed_timers: 1_000_000,
    };

    /// Tiny sizes that still run every workload on every peer and check every result.
    pub(crate) const SMOKE: Sizes = Sizes {
        repetitions: 1,
        spawned_tasks: 200,
        yield_tasks: 4,
        yields_per_task: 10,
        ping_pong_pairs: 4,
        ping_pong_round_trips: 10,
        chains: 4,
        chain_length: 10,
        producers: 4,
        messages_per_producer: 100,
        producer_channel_capacity: 16,
        timers: 200,
        idle_timers: 20,
        burst_timers: 200,
        burst_lead_ms: 20,
        longest_timer_ms: 5,
        wake_samples: 20,
        wake_interval_us: 200,
        echo_connections: 4,
        echo_round_trips: 20,
        many_echo_connections: 32,
        many_echo_round_trips: 10,
        http_connections: 4,
        http_requests: 20,
        idle_tasks: 200,
        idle_connections: 50,
        armed_timers: 2_000,
    };
}
