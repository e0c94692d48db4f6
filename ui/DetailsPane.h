#pragma once
// Every field of every certificate, staple and key of a bundle, each with a copy button, and the
// full text dump (`openssl x509 -text` / `openssl ocsp -resp_text` style) of the selected object.

#include "Inspection.h"

#include <QWidget>

class QTreeWidget;
class QTreeWidgetItem;
class QPlainTextEdit;
class QLabel;
class QPushButton;

namespace staplescope::ui {

class ElidedLabel;

class DetailsPane : public QWidget {
    Q_OBJECT
public:
    explicit DetailsPane(QWidget* parent = nullptr);

    void setBundle(const BundleReport* report); // nullptr clears
    // Selects the object (Certificate::id() / OcspStaple::id() / PrivateKey::id()).
    bool showObject(const QString& objectId);
    QString currentObjectId() const;
    QString currentDump() const;
    // Field value by object and field label, for tests ("Serial", "CertID hash algorithm", …).
    QString fieldValue(const QString& objectId, const QString& field) const;
    // The bundle's name and verdict on one line, elided to the pane's width (tooltip: all of it).
    ElidedLabel* header() const { return m_header; }

signals:
    void objectSelected(const QString& objectId);

private:
    QTreeWidgetItem* addObject(const QString& objectId, const QString& title, const QString& dump);
    void addField(QTreeWidgetItem* parent, const QString& label, const QString& value);
    void addCertificate(const Certificate& cert, const QString& role);
    void addStaple(const AttachedStaple& attached, const Bundle& bundle);
    void onCurrentItemChanged();
    void copyText(const QString& text);

    QTreeWidget* m_tree = nullptr;
    QPlainTextEdit* m_dump = nullptr;
    ElidedLabel* m_header = nullptr;
    ElidedLabel* m_dumpTitle = nullptr;
    QPushButton* m_copyDump = nullptr;
    QHash<QString, QString> m_dumps; // objectId → text dump
};

} // namespace staplescope::ui
