#pragma once
// Staple refresh, the deciding half: for each bundle of a session, fetch a fresh OCSP response
// (and the issuer when it is missing), judge it with the very rules that judge a staple on disk
// (Analyzer, at the evaluation time), compare it with the current staple, and decide what to do.
// The result is a RefreshPlan; nothing is written here (StapleInstaller executes plans).

#include "Inspection.h"
#include "OnlineLookup.h"
#include "RefreshPlan.h"

#include <QDateTime>
#include <QStringList>

#include <atomic>
#include <functional>

namespace staplescope {

struct RefreshOptions {
    bool ifDue = false;        // only bundles whose staple is missing, for another certificate, bad, or past its refresh point
    bool keepStale = false;    // never move a wrong staple aside
    QString staplePath;        // --staple-path: the destination (one bundle only)
    QString stapleName;        // --staple-name: a file of this name beside each certificate
    QString reloadCommand;
    QString haproxySocket;
    QStringList bundleIds;     // empty: every bundle; else only these (the window's Refresh staple)
    OnlineOptions online;
};

// Where a bundle's staple goes, when known without asking: its current staple file, a HAProxy
// crt file's `<crt>.ocsp`, --staple-path, or --staple-name beside the certificate. Empty: unknown.
QString stapleDestination(const Bundle& bundle, const RefreshOptions& options);
// A responder is known (the certificate's AIA OCSP URL, or --responder): the window enables its
// Refresh staple button by this.
bool refreshPossible(const Bundle& bundle, const RefreshOptions& options);

// Fetches, judges and decides, evaluating at `at` (UTC; the caller's clock). Changes nothing.
RefreshPlan planRefresh(const InspectionSession& session, const RefreshOptions& options, const QDateTime& at,
                        const std::atomic<bool>* cancel = nullptr,
                        const std::function<void(int done, int total)>& progress = {});

} // namespace staplescope
