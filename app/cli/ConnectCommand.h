#pragma once

#include "Command.h"

#include <QString>
#include <optional>

namespace staplescope::cli {

// `connect HOST[:PORT]…`: negotiate TLS (after STARTTLS where the port calls for it) asking for an
// OCSP staple, and diagnose what each address of each server served, like `inspect` does files.
class ConnectCommand : public Command {
public:
    QString name() const override { return QStringLiteral("connect"); }
    QString summary() const override { return QStringLiteral("Diagnose what a live server serves (HTTPS, mail with STARTTLS, …)."); }
    int run(const QStringList& arguments, CommandStreams& streams) override;
};

struct HostPort {
    QString host; // without brackets
    quint16 port = 443;
};
// "mail.example.org:587", "mail.example.org" (443), "[2001:db8::1]:993", "2001:db8::1" (443).
std::optional<HostPort> parseHostPort(const QString& text);

} // namespace staplescope::cli
