//! Gathering a request body for [`super::ResourceGuard::check_tools`], within the body limit.

use bytes::{Bytes, BytesMut};

/// Collects a body's chunks up to a limit. A body that arrives in one chunk, as a small
/// JSON-RPC message usually does, is handed back as that chunk: no buffer, no copy.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use mcp_auth_core::guard::BodyBuffer;
///
/// let mut body = BodyBuffer::new(8);
/// body.push(Bytes::from_static(b"{\"a\"")).unwrap();
/// body.push(Bytes::from_static(b":1}")).unwrap();
/// assert_eq!(body.finish(), Bytes::from_static(b"{\"a\":1}"));
///
/// let mut big = BodyBuffer::new(4);
/// assert!(big.push(Bytes::from_static(b"12345")).is_err()); // answer 413: body_too_large()
/// ```
#[derive(Debug)]
pub struct BodyBuffer {
    limit: usize,
    /// The first chunk, while it is the only one.
    first: Option<Bytes>,
    /// Every chunk, once there is more than one.
    joined: BytesMut,
}

/// The body exceeds the limit given to [`BodyBuffer::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTooLarge;

impl BodyBuffer {
    /// An empty body that may grow to `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            first: None,
            joined: BytesMut::new(),
        }
    }

    /// Bytes received so far.
    pub fn len(&self) -> usize {
        self.first.as_ref().map_or(self.joined.len(), Bytes::len)
    }

    /// Whether nothing has been received.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds the next chunk.
    ///
    /// # Errors
    ///
    /// [`BodyTooLarge`] when the body would exceed the limit; nothing is added.
    pub fn push(&mut self, chunk: Bytes) -> Result<(), BodyTooLarge> {
        if self.len().saturating_add(chunk.len()) > self.limit {
            return Err(BodyTooLarge);
        }
        match self.first.take() {
            None if self.joined.is_empty() => self.first = Some(chunk),
            None => self.joined.extend_from_slice(&chunk),
            Some(first) => {
                self.joined.reserve(first.len() + chunk.len());
                self.joined.extend_from_slice(&first);
                self.joined.extend_from_slice(&chunk);
            }
        }
        Ok(())
    }

    /// The whole body.
    pub fn finish(self) -> Bytes {
        self.first.unwrap_or_else(|| self.joined.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_chunk_is_passed_on_as_it_is() {
        let chunk = Bytes::from(vec![7u8; 100]);
        let mut body = BodyBuffer::new(100);
        body.push(chunk.clone()).unwrap();
        let whole = body.finish();
        assert_eq!(whole, chunk);
        assert_eq!(whole.as_ptr(), chunk.as_ptr(), "no copy");
    }

    #[test]
    fn chunks_join_in_order_up_to_the_limit() {
        let mut body = BodyBuffer::new(6);
        assert!(body.is_empty());
        for (chunk, len) in [(&b""[..], 0), (b"ab", 2), (b"", 2), (b"cd", 4), (b"ef", 6)] {
            body.push(Bytes::copy_from_slice(chunk)).unwrap();
            assert_eq!(body.len(), len);
        }
        assert_eq!(body.push(Bytes::from_static(b"g")), Err(BodyTooLarge));
        assert_eq!(body.len(), 6, "a refused chunk adds nothing");
        assert_eq!(body.finish(), Bytes::from_static(b"abcdef"));
        assert_eq!(BodyBuffer::new(0).finish(), Bytes::new());
    }
}
