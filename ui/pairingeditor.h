// Which teacher tap each student tap learns from, for the feature methods
// (docs/METHODS.md, "Feature methods"): one row per pair, each side a choice
// of its model's taps with their shapes, and beside it what the method makes
// of the pair (an adapter, a map pooled to the other's size) or why it cannot
// work, before Start. Until the user edits the rows, the method's default
// pairing is shown, and used.
#pragma once

#include "distillery/architecture.h"
#include "distillery/experiment.h"

#include <QWidget>

#include <string>
#include <vector>

class QLabel;
class QPushButton;
class QTableWidget;

class PairingEditor : public QWidget {
    Q_OBJECT
public:
    explicit PairingEditor(QWidget *parent = nullptr);

    void setMethod(const std::string &method);
    // Both models' taps (modelTaps); empty while a model or the data is unknown.
    void setTaps(std::vector<distillery::Tap> teacher, std::vector<distillery::Tap> student);
    // From a file: empty for the default pairing.
    void setPairs(const std::vector<distillery::FeaturePair> &pairs);
    // The user's pairs; empty while the default pairing stands.
    std::vector<distillery::FeaturePair> pairs() const;
    // Why the pairing cannot train, naming the pair; empty when it can (or
    // while the taps are unknown).
    QString problem() const;

    QTableWidget *table() const { return table_; }
    QPushButton *addButton() const { return add_; }
    QPushButton *removeButton() const { return remove_; }
    QPushButton *defaultButton() const { return default_; }

Q_SIGNALS:
    void changed();

private:
    // The rows of `pairs`, or of the default pairing when `custom_` is off.
    void fill();
    void addRow(const distillery::FeaturePair &pair);
    std::vector<distillery::FeaturePair> rows() const;
    void edited();
    void describeRows();
    distillery::DistillConfig config() const;

    std::string method_;
    std::vector<distillery::Tap> teacher_, student_;
    std::vector<distillery::FeaturePair> custom_;
    bool isCustom_ = false;
    bool filling_ = false;
    QLabel *summary_;
    QTableWidget *table_;
    QPushButton *add_, *remove_, *default_;
};
