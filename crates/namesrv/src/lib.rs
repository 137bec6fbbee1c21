//! The name server: the route table (a pure state machine) and its request handlers.
//! Not built yet: see the Name server issue.
