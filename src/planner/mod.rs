//! The rollout planner. So far: placing work inside each site's maintenance windows, in the
//! site's own time zone and correct across daylight-saving changes. Waves, canaries, HA order and
//! the plan file build on this.

pub mod window;
