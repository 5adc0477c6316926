//! Property test: random sequences of broadcast operations agree with a model that keeps one
//! `VecDeque` per receiver, at most `capacity` long, and counts what each receiver lost.

use std::collections::VecDeque;
use std::num::NonZeroUsize;

use futures_lite::future::{block_on, poll_once};
use futures_lite::StreamExt;
use proptest::prelude::*;
use reactor_channel::broadcast::{self, Lagged, Receiver, RecvError, Sender, TryRecvError};
use reactor_channel::SendError;

#[derive(Clone, Debug)]
enum Op {
    Send {
        sender: usize,
        value: u32,
    },
    TryRecv {
        receiver: usize,
    },
    /// Polls a `recv` future once and drops it if it is still pending.
    RecvOnce {
        receiver: usize,
    },
    Subscribe {
        sender: usize,
    },
    Resubscribe {
        receiver: usize,
    },
    DropReceiver {
        receiver: usize,
    },
    CloneSender {
        sender: usize,
    },
    DropSender {
        sender: usize,
    },
    /// Polls the receiver as a `Stream` once.
    NextOnce {
        receiver: usize,
    },
    Downgrade {
        sender: usize,
    },
    Upgrade {
        weak: usize,
    },
    DropWeak {
        weak: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..4usize, any::<u32>()).prop_map(|(sender, value)| Op::Send { sender, value }),
        4 => (0..4usize).prop_map(|receiver| Op::TryRecv { receiver }),
        2 => (0..4usize).prop_map(|receiver| Op::RecvOnce { receiver }),
        1 => (0..4usize).prop_map(|sender| Op::Subscribe { sender }),
        1 => (0..4usize).prop_map(|receiver| Op::Resubscribe { receiver }),
        1 => (0..4usize).prop_map(|receiver| Op::DropReceiver { receiver }),
        1 => (0..4usize).prop_map(|sender| Op::CloneSender { sender }),
        1 => (0..4usize).prop_map(|sender| Op::DropSender { sender }),
        2 => (0..4usize).prop_map(|receiver| Op::NextOnce { receiver }),
        1 => (0..4usize).prop_map(|sender| Op::Downgrade { sender }),
        1 => (0..4usize).prop_map(|weak| Op::Upgrade { weak }),
        1 => (0..4usize).prop_map(|weak| Op::DropWeak { weak }),
    ]
}

/// One receiver as the model sees it: what it will receive, and how many it lost since its last
/// receive.
#[derive(Default)]
struct ModelReceiver {
    queue: VecDeque<u32>,
    missed: u64,
}

impl ModelReceiver {
    fn recv(&mut self, senders: usize) -> Result<u32, TryRecvError> {
        if self.missed > 0 {
            return Err(TryRecvError::Lagged(std::mem::take(&mut self.missed)));
        }
        match self.queue.pop_front() {
            Some(value) => Ok(value),
            None if senders == 0 => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }
}

fn check(capacity: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (tx, rx): (Sender<u32>, Receiver<u32>) = broadcast::channel(NonZeroUsize::new(capacity).unwrap());
    let mut senders = vec![tx];
    let mut weak_senders = Vec::new();
    let mut receivers = vec![(rx, ModelReceiver::default())];
    for op in ops {
        let alive = !senders.is_empty();
        let any_receiver = !receivers.is_empty();
        match op {
            Op::Send { sender, value } if alive => {
                let expected = if receivers.is_empty() { Err(SendError(value)) } else { Ok(receivers.len()) };
                for (_, model) in &mut receivers {
                    model.queue.push_back(value);
                    if model.queue.len() > capacity {
                        model.queue.pop_front();
                        model.missed += 1;
                    }
                }
                prop_assert_eq!(senders[sender % senders.len()].send(value), expected);
            }
            Op::TryRecv { receiver } if any_receiver => {
                let index = receiver % receivers.len();
                let (rx, model) = &mut receivers[index];
                let expected = model.recv(senders.len());
                prop_assert_eq!(rx.try_recv(), expected);
            }
            Op::RecvOnce { receiver } if any_receiver => {
                let index = receiver % receivers.len();
                let (rx, model) = &mut receivers[index];
                let expected = match model.recv(senders.len()) {
                    Ok(value) => Some(Ok(value)),
                    Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                    Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                    Err(TryRecvError::Empty) => None,
                };
                prop_assert_eq!(block_on(poll_once(rx.recv())), expected);
            }
            Op::Subscribe { sender } if alive => {
                let rx = senders[sender % senders.len()].subscribe();
                receivers.push((rx, ModelReceiver::default()));
            }
            Op::Resubscribe { receiver } if any_receiver => {
                let rx = receivers[receiver % receivers.len()].0.resubscribe();
                receivers.push((rx, ModelReceiver::default()));
            }
            Op::DropReceiver { receiver } if any_receiver => {
                drop(receivers.remove(receiver % receivers.len()))
            }
            Op::CloneSender { sender } if alive => senders.push(senders[sender % senders.len()].clone()),
            Op::DropSender { sender } if alive => drop(senders.remove(sender % senders.len())),
            Op::NextOnce { receiver } if any_receiver => {
                let index = receiver % receivers.len();
                let (rx, model) = &mut receivers[index];
                let expected = match model.recv(senders.len()) {
                    Ok(value) => Some(Some(Ok(value))),
                    Err(TryRecvError::Lagged(n)) => Some(Some(Err(Lagged(n)))),
                    Err(TryRecvError::Closed) => Some(None),
                    Err(TryRecvError::Empty) => None,
                };
                prop_assert_eq!(block_on(poll_once(rx.next())), expected);
            }
            Op::Downgrade { sender } if alive => {
                weak_senders.push(senders[sender % senders.len()].downgrade())
            }
            Op::Upgrade { weak } if !weak_senders.is_empty() => {
                let upgraded = weak_senders[weak % weak_senders.len()].upgrade();
                prop_assert_eq!(upgraded.is_some(), alive, "upgrades exactly while a sender lives");
                senders.extend(upgraded);
            }
            Op::DropWeak { weak } if !weak_senders.is_empty() => {
                drop(weak_senders.remove(weak % weak_senders.len()));
            }
            _ => {}
        }
        for (rx, model) in &receivers {
            prop_assert_eq!(rx.len() as u64, model.queue.len() as u64 + model.missed);
            prop_assert_eq!(rx.receiver_count(), receivers.len());
        }
        if let Some(tx) = senders.first() {
            let kept = receivers.iter().map(|(_, model)| model.queue.len()).max().unwrap_or(0);
            prop_assert_eq!(tx.len(), kept, "the ring keeps what the slowest receiver still wants");
            prop_assert_eq!(tx.receiver_count(), receivers.len());
            prop_assert_eq!(tx.strong_count(), senders.len());
            prop_assert_eq!(tx.weak_count(), weak_senders.len());
        }
        for weak in &weak_senders {
            prop_assert_eq!(weak.strong_count(), senders.len());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn broadcast_channels_agree_with_a_queue_per_receiver(
        capacity in 1..5usize,
        ops in prop::collection::vec(op(), 0..200),
    ) {
        check(capacity, ops)?;
    }
}
