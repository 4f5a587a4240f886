//! HubSpot CRM connector and simulator (work in progress).
