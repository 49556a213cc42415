// File ▸ Export: writes a finished run's model in the chosen formats on a
// worker thread and shows how each file compared when loaded back.
#pragma once

#include "distillery/export.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;
class QThread;

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    explicit ExportDialog(const QString &runDir, QWidget *parent = nullptr);
    ~ExportDialog() override;

    void setOutputFolder(const QString &dir);
    QString outputFolder() const;
    void setFormatChecked(const QString &format, bool checked);
    bool isExporting() const { return worker_ != nullptr; }
    // Of the last export: the report, or the reason it could not start.
    const distillery::ExportReport &report() const { return report_; }
    QString error() const { return error_; }
    QTableWidget *resultTable() const { return table_; }
    QPushButton *exportButton() const { return exportButton_; }
    // Shows the output folder in the desktop's file manager; enabled once
    // an export has written it.
    QPushButton *openFolderButton() const { return openFolder_; }

public Q_SLOTS:
    void startExport();

Q_SIGNALS:
    void exportFinished(bool ok);

protected:
    void reject() override;

private:
    void showReport();

    QString runDir_;
    QComboBox *model_;
    QLineEdit *folder_;
    QList<QCheckBox *> formats_;
    QPushButton *exportButton_;
    QPushButton *openFolder_;
    QLabel *status_;
    QTableWidget *table_;
    QThread *worker_ = nullptr;
    distillery::ExportReport report_;
    QString error_;
};
