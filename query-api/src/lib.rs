//! Query API service (issue 5; not built yet).
