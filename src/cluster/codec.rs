//! The logical-plan codec shared by client, scheduler and executors: Ballista's own, plus
//! in-memory tables.
//!
//! Attribution's results (`sessions`, `pipelines`, `principals`, `account_envs`) are small
//! tables held in memory by the client ([`crate::attribute`]). DataFusion's protobuf codec can
//! carry a listing table or a view but not a `MemTable`, so this codec writes one as an Arrow
//! IPC stream inside the plan; the scheduler reads it back and plans it like any table (its
//! physical form, a memory scan, is one DataFusion already serialises to executors).

use std::io::Cursor;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion_proto::logical_plan::LogicalExtensionCodec;

/// Marks a table provider encoded here (Ballista's own encodings never start with it).
const MEMTABLE_TAG: &[u8] = b"pipewarden.memtable.v1\0";

/// Ballista's logical codec, with `MemTable`s carried as Arrow IPC.
#[derive(Debug, Default)]
pub struct LakeCodec {
    inner: BallistaLogicalExtensionCodec,
}

/// The codec, shared.
pub fn logical() -> Arc<dyn LogicalExtensionCodec> {
    Arc::new(LakeCodec::default())
}

fn encode_memtable(t: &MemTable, schema: &SchemaRef, buf: &mut Vec<u8>) -> Result<()> {
    buf.extend_from_slice(MEMTABLE_TAG);
    let mut w = StreamWriter::try_new(&mut *buf, schema)?;
    for partition in t.batches.iter() {
        // One lock per partition; the client's tables are not written while a plan is sent.
        let batches = partition.try_read().map_err(|_| {
            DataFusionError::Internal("an in-memory table changed while it was sent".into())
        })?;
        for b in batches.iter() {
            w.write(b)?;
        }
    }
    w.finish()?;
    Ok(())
}

fn decode_memtable(bytes: &[u8], schema: SchemaRef) -> Result<Arc<dyn TableProvider>> {
    let reader = StreamReader::try_new(Cursor::new(bytes), None)?;
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Arc::new(MemTable::try_new(schema, vec![batches])?))
}

impl LogicalExtensionCodec for LakeCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match buf.strip_prefix(MEMTABLE_TAG) {
            Some(ipc) => decode_memtable(ipc, schema),
            None => self
                .inner
                .try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<MemTable>() {
            Some(t) => encode_memtable(t, &node.schema(), buf),
            None => self.inner.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> Result<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn memtable_round_trips_through_the_codec() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    None,
                    Some("=cmd|' /C calc'!A0"),
                ])),
                Arc::new(Int64Array::from(vec![1, 2, 3])),
            ],
        )
        .unwrap();
        let t: Arc<dyn TableProvider> =
            Arc::new(MemTable::try_new(schema.clone(), vec![vec![batch.clone()]]).unwrap());
        let codec = LakeCodec::default();
        let name = TableReference::bare("sessions");
        let mut buf = vec![];
        codec.try_encode_table_provider(&name, t, &mut buf).unwrap();
        let ctx = TaskContext::default();
        let back = codec
            .try_decode_table_provider(&buf, &name, schema.clone(), &ctx)
            .unwrap();
        let m = back.downcast_ref::<MemTable>().unwrap();
        let got = m.batches[0].try_read().unwrap().clone();
        assert_eq!(got, vec![batch]);
    }

    #[test]
    fn a_corrupt_memtable_payload_is_an_error() {
        // Never a silent empty table.
        let codec = LakeCodec::default();
        let schema = Arc::new(arrow::datatypes::Schema::empty());
        let mut bad = MEMTABLE_TAG.to_vec();
        bad.extend_from_slice(b"not ipc");
        let r = codec.try_decode_table_provider(
            &bad,
            &TableReference::bare("t"),
            schema,
            &TaskContext::default(),
        );
        assert!(r.is_err());
    }
}
