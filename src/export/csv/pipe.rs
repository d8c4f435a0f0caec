//! A dataset's CSV files written on a thread of their own.
//!
//! Flattening costs more than appending a record's line to the NDJSON, so the NDJSON writer hands
//! each page (moved, not copied) to this thread through a bounded queue and goes on with the next
//! page. A commit is a message in the same queue, so it comes after every page sent before it:
//! its answer says how many bytes of each CSV file are durable, holding exactly the records the
//! NDJSON holds at that commit, and a checkpoint claims no more than that.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use super::CsvWriter;
use crate::error::{Error, Result};
use crate::export::manifest::FileEntry;
use crate::platform::RawRecord;

/// Pages waiting for the CSV thread: enough to ride out a commit's fsync, few enough that memory
/// stays flat (a page is at most a few hundred kilobytes).
const QUEUE: usize = 2;

enum Message {
    Records(Vec<RawRecord>),
    Commit,
    Finish,
}

/// What the thread ended with: the finished files, or nothing when it was abandoned.
type Outcome = Result<Option<Vec<FileEntry>>>;

/// The CSV files of one dataset, written by their own thread.
#[derive(Debug)]
pub struct CsvPipe {
    queue: Option<SyncSender<Message>>,
    commits: Receiver<Result<Vec<FileEntry>>>,
    thread: Option<JoinHandle<Outcome>>,
    abandon: Arc<AtomicBool>,
}

impl CsvPipe {
    /// Starts the thread that writes `writer`'s files.
    pub fn spawn(writer: CsvWriter) -> Result<CsvPipe> {
        let (queue, inbox) = mpsc::sync_channel(QUEUE);
        let (answer, commits) = mpsc::sync_channel(1);
        let abandon = Arc::new(AtomicBool::new(false));
        let stop = abandon.clone();
        let thread = std::thread::Builder::new()
            .name(format!("csv-{}", writer.dataset))
            .spawn(move || serve(writer, &inbox, &answer, &stop))
            .map_err(|e| Error::internal("cannot start the CSV writer").with_source(e))?;
        Ok(CsvPipe { queue: Some(queue), commits, thread: Some(thread), abandon })
    }

    /// Queues a page's records (waiting while the queue is full).
    pub fn write(&mut self, records: Vec<RawRecord>) -> Result<()> {
        self.send(Message::Records(records))
    }

    /// Asks for a commit of everything queued so far; [`CsvPipe::committed`] waits for it, so the
    /// CSV files sync while the caller syncs its own.
    pub fn commit(&mut self) -> Result<()> {
        self.send(Message::Commit)
    }

    /// Waits for the commit asked for last: each file's durable size and the SHA-256 of it.
    pub fn committed(&mut self) -> Result<Vec<FileEntry>> {
        match self.commits.recv() {
            Ok(result) => result,
            Err(_) => Err(self.failure()),
        }
    }

    /// Writes what is queued, finishes every file and returns name, size and SHA-256 of each.
    pub fn finish(mut self) -> Result<Vec<FileEntry>> {
        self.send(Message::Finish)?;
        self.queue = None;
        match self.join() {
            Ok(Some(files)) => Ok(files),
            Ok(None) => Err(Error::internal("the CSV writer stopped before finishing")),
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, message: Message) -> Result<()> {
        let sent = self.queue.as_ref().is_some_and(|q| q.send(message).is_ok());
        if sent { Ok(()) } else { Err(self.failure()) }
    }

    /// Why the thread is gone (it stops at its first error and drops its end of the queue).
    fn failure(&mut self) -> Error {
        self.queue = None;
        match self.join() {
            Err(e) => e,
            Ok(_) => Error::internal("the CSV writer stopped"),
        }
    }

    fn join(&mut self) -> Outcome {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(outcome)) => outcome,
            Some(Err(_)) => Err(Error::internal("the CSV writer panicked")),
            None => Err(Error::internal("the CSV writer stopped")),
        }
    }
}

impl Drop for CsvPipe {
    /// An export that stops (an error, Ctrl-C) leaves the queued pages unwritten: nothing claims
    /// them. The thread is waited for, so no file is written to once the export returns.
    fn drop(&mut self) {
        self.abandon.store(true, Ordering::SeqCst);
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    mut writer: CsvWriter,
    inbox: &Receiver<Message>,
    answer: &SyncSender<Result<Vec<FileEntry>>>,
    abandon: &AtomicBool,
) -> Outcome {
    while let Ok(message) = inbox.recv() {
        match message {
            Message::Records(records) => {
                if abandon.load(Ordering::SeqCst) {
                    return Ok(None);
                }
                for record in &records {
                    writer.write(record)?;
                }
            }
            Message::Commit => {
                let result = writer.commit();
                let failed = result.is_err();
                if answer.send(result).is_err() || failed {
                    return Ok(None);
                }
            }
            Message::Finish => return writer.finish().map(Some),
        }
    }
    Ok(None)
}
