#include "pairingeditor.h"

#include "distillery/methods.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>

using namespace distillery;

namespace {

enum Column { TeacherTap, StudentTap, Note, ColumnCount };

QString q(const std::string &s) { return QString::fromStdString(s); }


// A choice of `taps`, set to `name` (added as it is when the model lacks it).
QComboBox *tapBox(const std::vector<Tap> &taps, const std::string &name, QWidget *parent)
{
    auto *box = new QComboBox(parent);
    box->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    for (const auto &t : taps) {
        box->addItem(q(t.name), q(t.name));
        box->setItemData(box->count() - 1, q(shapeToString(t.shape)), Qt::ToolTipRole);
    }
    if (box->findData(q(name)) < 0)
        box->addItem(q(name), q(name));
    box->setCurrentIndex(box->findData(q(name)));
    return box;
}

// What the method does with a pair that works.
QString pairNote(const MethodInfo &m, const Tap &t, const Tap &s)
{
    if (m.name == "fitnet")
        return s.shape.size() == 3 ? QObject::tr("adapter: 1×1 conv + BN, %1 → %2 channels").arg(s.shape[0]).arg(t.shape[0])
                                   : QObject::tr("adapter: linear, %1 → %2").arg(s.shape[0]).arg(t.shape[0]);
    if (m.name == "at" && t.shape[1] != s.shape[1])
        return QObject::tr("the larger map is pooled to the smaller's size");
    return QObject::tr("compatible");
}

} // namespace

PairingEditor::PairingEditor(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    table_ = new QTableWidget(0, ColumnCount, this);
    table_->setHorizontalHeaderLabels({tr("Teacher tap"), tr("Student tap"), tr("")});
    table_->horizontalHeader()->setSectionResizeMode(Note, QHeaderView::Stretch);
    table_->verticalHeader()->hide();
    table_->setWordWrap(false); // a long note is elided; its tooltip has it whole
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setToolTip(tr("Which teacher feature each student feature learns from. Taps: stage1… after each stage "
                          "of residual blocks, pool1… after each pooling layer, embedding before the last linear "
                          "layer, and any name given to a layer (its \"Tap\" column)."));
    add_ = new QPushButton(tr("Add pair"), this);
    remove_ = new QPushButton(tr("Remove pair"), this);
    default_ = new QPushButton(tr("Default pairing"), this);
    default_->setToolTip(tr("Go back to the method's own pairing of the taps both models have"));
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(add_);
    buttons->addWidget(remove_);
    buttons->addStretch();
    buttons->addWidget(default_);
    layout->addWidget(summary_);
    layout->addWidget(table_);
    layout->addLayout(buttons);
    connect(add_, &QPushButton::clicked, this, [this] {
        custom_ = rows();
        const std::string t = teacher_.empty() ? std::string() : teacher_.back().name;
        const std::string s = student_.empty() ? std::string() : student_.back().name;
        custom_.push_back({t, s});
        isCustom_ = true;
        fill();
        Q_EMIT changed();
    });
    connect(remove_, &QPushButton::clicked, this, [this] {
        custom_ = rows();
        const int row = table_->currentRow();
        if (row >= 0 && row < int(custom_.size()))
            custom_.erase(custom_.begin() + row);
        isCustom_ = true;
        fill();
        Q_EMIT changed();
    });
    connect(default_, &QPushButton::clicked, this, [this] {
        isCustom_ = false;
        custom_.clear();
        fill();
        Q_EMIT changed();
    });
    fill();
}

void PairingEditor::setMethod(const std::string &method)
{
    method_ = method;
    fill();
}

void PairingEditor::setTaps(std::vector<Tap> teacher, std::vector<Tap> student)
{
    if (isCustom_)
        custom_ = rows(); // the user's pairs stay, marked against the new taps
    teacher_ = std::move(teacher);
    student_ = std::move(student);
    fill();
}

void PairingEditor::setPairs(const std::vector<FeaturePair> &pairs)
{
    custom_ = pairs;
    isCustom_ = !pairs.empty();
    fill();
}

std::vector<FeaturePair> PairingEditor::pairs() const
{
    return isCustom_ ? rows() : std::vector<FeaturePair>{};
}

DistillConfig PairingEditor::config() const
{
    DistillConfig c;
    c.method = method_;
    c.pairs = pairs();
    return c;
}

QString PairingEditor::problem() const
{
    const MethodInfo *m = findMethod(method_);
    if (!m || !m->usesFeatures() || teacher_.empty() || student_.empty())
        return {};
    if (isCustom_ && rows().empty())
        return tr("distillation.pairs: no pairs (add one, or go back to the default pairing)");
    try {
        resolvePairs(config(), teacher_, student_);
    } catch (const ConfigError &e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

void PairingEditor::fill()
{
    filling_ = true;
    table_->setRowCount(0);
    std::vector<FeaturePair> shown = custom_;
    if (!isCustom_) {
        shown.clear();
        try { // the default pairing, as the engine will resolve it
            DistillConfig c;
            c.method = method_;
            for (const auto &[t, s] : resolvePairs(c, teacher_, student_))
                shown.push_back({t.name, s.name});
        } catch (const ConfigError &) {
        }
    }
    for (const auto &p : shown)
        addRow(p);
    for (int c : {TeacherTap, StudentTap}) {
        int width = table_->horizontalHeader()->sectionSizeHint(c);
        for (int r = 0; r < table_->rowCount(); ++r)
            width = std::max(width, table_->cellWidget(r, c)->sizeHint().width());
        table_->setColumnWidth(c, width);
    }
    filling_ = false;
    describeRows();
}

void PairingEditor::addRow(const FeaturePair &pair)
{
    const int r = table_->rowCount();
    table_->insertRow(r);
    auto *t = tapBox(teacher_, pair.teacher, table_);
    auto *s = tapBox(student_, pair.student, table_);
    table_->setCellWidget(r, TeacherTap, t);
    table_->setCellWidget(r, StudentTap, s);
    auto *note = new QTableWidgetItem;
    note->setFlags(Qt::ItemIsEnabled);
    table_->setItem(r, Note, note);
    for (auto *box : {t, s})
        connect(box, qOverload<int>(&QComboBox::currentIndexChanged), this, &PairingEditor::edited);
}

std::vector<FeaturePair> PairingEditor::rows() const
{
    std::vector<FeaturePair> out;
    for (int r = 0; r < table_->rowCount(); ++r) {
        auto *t = qobject_cast<QComboBox *>(table_->cellWidget(r, TeacherTap));
        auto *s = qobject_cast<QComboBox *>(table_->cellWidget(r, StudentTap));
        if (t && s)
            out.push_back({t->currentData().toString().toStdString(), s->currentData().toString().toStdString()});
    }
    return out;
}

void PairingEditor::edited()
{
    if (filling_)
        return;
    custom_ = rows();
    isCustom_ = true;
    describeRows();
    Q_EMIT changed();
}

void PairingEditor::describeRows()
{
    const MethodInfo *m = findMethod(method_);
    const bool known = !teacher_.empty() && !student_.empty();
    summary_->setText(!known ? tr("The taps and their shapes show once the data and both models are known.")
                      : isCustom_ ? tr("Your pairs.")
                                  : tr("The method's default pairing of the taps both models have."));
    default_->setEnabled(isCustom_);
    remove_->setEnabled(table_->rowCount() > 0);
    for (int r = 0; r < table_->rowCount(); ++r) {
        const FeaturePair p = rows()[std::size_t(r)];
        const Tap *t = findTap(teacher_, p.teacher);
        const Tap *s = findTap(student_, p.student);
        QString text;
        bool bad = false;
        if (!m || !known) {
            text.clear();
        } else if (!t || !s) {
            text = !t ? tr("the teacher has no tap '%1'").arg(q(p.teacher)) : tr("the student has no tap '%1'").arg(q(p.student));
            bad = true;
        } else if (const auto why = pairProblem(*m, *t, *s); !why.empty()) {
            text = q(why);
            bad = true;
        } else {
            text = pairNote(*m, *t, *s);
        }
        if (t && s)
            text = tr("%1 ↔ %2: %3").arg(q(shapeToString(t->shape)), q(shapeToString(s->shape)), text);
        auto *note = table_->item(r, Note);
        note->setText(text);
        note->setToolTip(text);
        note->setForeground(bad ? QBrush(Qt::red) : palette().brush(QPalette::PlaceholderText));
    }
}
