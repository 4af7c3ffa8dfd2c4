//! Where a lake is: a folder or `s3://bucket/prefix`, parsed once from `--lake` and carried by
//! every plan, so no command re-parses the string or decides on its own whether AWS is needed.

use std::path::PathBuf;

/// A lake's location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeLocation {
    /// A folder (created on open); `file://` prefixes are accepted.
    Local(PathBuf),
    /// An S3 bucket and a prefix inside it (no leading or trailing `/`, may be empty).
    S3 {
        /// The bucket.
        bucket: String,
        /// The prefix under which the lake's folders are.
        prefix: String,
    },
}

impl LakeLocation {
    /// `DIR`, `file://DIR` or `s3://bucket[/prefix]`.
    pub fn parse(spec: &str) -> Result<LakeLocation, String> {
        if spec.starts_with("s3://") {
            let Some((bucket, prefix)) = crate::source::parse_s3_uri(spec) else {
                return Err(format!("{spec:?} names no bucket: s3://bucket/prefix"));
            };
            return Ok(LakeLocation::S3 {
                bucket,
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        let path = spec.strip_prefix("file://").unwrap_or(spec);
        if path.is_empty() {
            return Err("the lake is a folder or s3://bucket/prefix, not an empty string".into());
        }
        Ok(LakeLocation::Local(PathBuf::from(path)))
    }

    /// Whether reaching the lake needs the AWS credential chain.
    pub fn is_s3(&self) -> bool {
        matches!(self, LakeLocation::S3 { .. })
    }
}

impl std::str::FromStr for LakeLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LakeLocation::parse(s)
    }
}

impl std::fmt::Display for LakeLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LakeLocation::Local(p) => write!(f, "{}", p.display()),
            LakeLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            LakeLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lake_locations() {
        assert_eq!(
            LakeLocation::parse("s3://b/p/q/").unwrap(),
            LakeLocation::S3 {
                bucket: "b".into(),
                prefix: "p/q".into()
            }
        );
        assert_eq!(LakeLocation::parse("s3://b").unwrap().to_string(), "s3://b");
        assert_eq!(
            LakeLocation::parse("file:///tmp/l").unwrap(),
            LakeLocation::Local("/tmp/l".into())
        );
        assert!(LakeLocation::parse("s3://").is_err());
        assert!(LakeLocation::parse("").is_err());
    }
}
