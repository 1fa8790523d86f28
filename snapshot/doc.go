// Package snapshot holds the database-independent parts of chunked,
// watermark-reconciled snapshots (docs/snapshots.md): the chunk window that
// reconciles a chunk's rows with the changes streamed while it was read, the
// keyset-pagination query of a chunk for both SQL dialects, the watermark
// text written into the log, the progress record of a table's snapshot with
// its one stored form, and the snapshot mode.
//
// It does no I/O: the sources read chunks and watermarks from their
// database, the pipeline commits rows and progress to Kafka. Nothing here is
// safe for concurrent use unless its doc comment says so; a Window belongs to
// the goroutine that reads the stream.
package snapshot
