#include "teachersdialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

using namespace distillery;

namespace {

enum Column { Source, Location, Input, Weight };

QDoubleSpinBox *weightBox(double value, QWidget *parent)
{
    auto *box = new QDoubleSpinBox(parent);
    box->setRange(0.0, 1000.0);
    box->setDecimals(3);
    box->setSingleStep(0.5);
    box->setValue(value);
    return box;
}

} // namespace

TeachersDialog::TeachersDialog(const Experiment &e, QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("Teachers"));
    auto *intro = new QLabel(tr("The student learns the weighted average of the teachers' softened probabilities. "
                                "Further teachers are reused from a run or imported from a TorchScript file; "
                                "the first is the Teacher section's."),
                             this);
    intro->setWordWrap(true);
    first_ = weightBox(e.teacher.weight, this);
    first_->setObjectName(QStringLiteral("firstWeight"));
    table_ = new QTableWidget(0, 4, this);
    table_->setHorizontalHeaderLabels({tr("Source"), tr("Run folder or file"), tr("Input"), tr("Weight")});
    table_->horizontalHeader()->setSectionResizeMode(Location, QHeaderView::Stretch);
    table_->verticalHeader()->hide();
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    shares_ = new QLabel(this);
    shares_->setWordWrap(true);
    auto *addRun = new QPushButton(tr("Add a run's teacher…"), this);
    auto *addFile = new QPushButton(tr("Add a TorchScript file…"), this);
    remove_ = new QPushButton(tr("Remove"), this);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);

    auto *firstRow = new QFormLayout;
    firstRow->addRow(tr("The Teacher section's weight"), first_);
    auto *edit = new QHBoxLayout;
    edit->addWidget(addRun);
    edit->addWidget(addFile);
    edit->addStretch();
    edit->addWidget(remove_);
    auto *l = new QVBoxLayout(this);
    l->addWidget(intro);
    l->addLayout(firstRow);
    l->addWidget(table_, 1);
    l->addLayout(edit);
    l->addWidget(shares_);
    l->addWidget(buttons);
    resize(720, 360);

    for (const auto &t : e.teachers)
        addRow(t);
    connect(first_, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &TeachersDialog::updateShares);
    connect(addRun, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("A run whose teacher to reuse"));
        if (!dir.isEmpty())
            this->addRun(dir);
    });
    connect(addFile, &QPushButton::clicked, this, [this] {
        const QString file =
            QFileDialog::getOpenFileName(this, tr("A TorchScript teacher"), QString(), tr("TorchScript (*.pt *.pth)"));
        if (!file.isEmpty())
            addTorchScript(file);
    });
    connect(remove_, &QPushButton::clicked, this, [this] { removeRow(table_->currentRow()); });
    connect(table_, &QTableWidget::itemSelectionChanged, this,
            [this] { remove_->setEnabled(table_->currentRow() >= 0); });
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    remove_->setEnabled(false);
    updateShares();
}

void TeachersDialog::addRow(const TeacherConfig &t)
{
    const int row = table_->rowCount();
    table_->insertRow(row);
    const bool imported = t.source == "torchscript";
    auto *source = new QTableWidgetItem(imported ? tr("TorchScript") : tr("run"));
    source->setData(Qt::UserRole, QString::fromStdString(t.source));
    source->setFlags(source->flags() & ~Qt::ItemIsEditable);
    table_->setItem(row, Source, source);
    auto *location = new QTableWidgetItem(QString::fromStdString(imported ? t.path : t.run));
    location->setToolTip(location->text());
    table_->setItem(row, Location, location);
    if (imported) {
        auto *input = new QComboBox(table_);
        input->addItem(tr("raw"), QStringLiteral("raw"));
        input->addItem(tr("normalised"), QStringLiteral("normalised"));
        input->setCurrentIndex(std::max(0, input->findData(QString::fromStdString(t.input))));
        input->setToolTip(tr("What the model's forward expects: the input as read, or as the students see it"));
        table_->setCellWidget(row, Input, input);
    } else {
        auto *none = new QTableWidgetItem(QStringLiteral("—"));
        none->setFlags(none->flags() & ~Qt::ItemIsEditable);
        table_->setItem(row, Input, none);
    }
    auto *weight = weightBox(t.weight, table_);
    connect(weight, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &TeachersDialog::updateShares);
    table_->setCellWidget(row, Weight, weight);
    updateShares();
}

void TeachersDialog::addRun(const QString &runDir)
{
    TeacherConfig t;
    t.source = "run";
    t.run = runDir.toStdString();
    addRow(t);
}

void TeachersDialog::addTorchScript(const QString &file)
{
    TeacherConfig t;
    t.source = "torchscript";
    t.path = file.toStdString();
    addRow(t);
}

void TeachersDialog::removeRow(int row)
{
    if (row < 0 || row >= table_->rowCount())
        return;
    table_->removeRow(row);
    updateShares();
}

double TeachersDialog::firstWeight() const
{
    return first_->value();
}

std::vector<TeacherConfig> TeachersDialog::teachers() const
{
    std::vector<TeacherConfig> out;
    for (int row = 0; row < table_->rowCount(); ++row) {
        TeacherConfig t;
        t.source = table_->item(row, Source)->data(Qt::UserRole).toString().toStdString();
        const std::string location = table_->item(row, Location)->text().trimmed().toStdString();
        (t.source == "torchscript" ? t.path : t.run) = location;
        if (auto *input = qobject_cast<QComboBox *>(table_->cellWidget(row, Input)))
            t.input = input->currentData().toString().toStdString();
        t.weight = qobject_cast<QDoubleSpinBox *>(table_->cellWidget(row, Weight))->value();
        out.push_back(t);
    }
    return out;
}

// Each teacher's share of the target (the weights normalised), as the run will use them.
void TeachersDialog::updateShares()
{
    const auto further = teachers();
    if (further.empty()) {
        shares_->setText(tr("One teacher: vanilla KD from the Teacher section's."));
        return;
    }
    double sum = first_->value();
    for (const auto &t : further)
        sum += t.weight;
    if (sum <= 0) {
        shares_->setText(QStringLiteral("<span style='color:#c62828'>%1</span>")
                             .arg(tr("Every weight is 0: at least one teacher must count.")));
        return;
    }
    QStringList parts{tr("Teacher section %1").arg(first_->value() / sum, 0, 'f', 3)};
    for (const auto &t : further)
        parts << QStringLiteral("%1 %2").arg(QFileInfo(QString::fromStdString(t.source == "run" ? t.run : t.path))
                                                 .fileName())
                     .arg(t.weight / sum, 0, 'f', 3);
    shares_->setText(tr("Shares of the target: %1").arg(parts.join(QStringLiteral(" · "))));
}
