// REST routes of the tamper audit (seed 002, SPEC 4.5/4.6/5): the ledger's signed heads (for
// witnesses), a meter's verified entries, inclusion and consistency proofs, commissioning and
// re-commissioning, running an audit, results, alarms and inspection orders. Staff roles read;
// admin, operator and auditor run and commission; admin, auditor and supervisor list the heads.
#pragma once

#include "http/server.h"

#include "audit/audit_service.h"
#include "store/store.h"

namespace mh::api {

void AddAuditRoutes(http::Server& srv, store::Store* store, audit::AuditService* audit);

}  // namespace mh::api
