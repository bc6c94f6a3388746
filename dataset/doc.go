// Package dataset holds a folder of cases that annotators work through and
// hand over for training: nnU-Net v2's raw layout, the Medical Segmentation
// Decathlon's, or a plain folder of scans. It lists the cases with their
// files and their place on the worklist, locks a case for one annotator at
// a time across the machines that share the folder, saves a case's labels
// and keeps dataset.json current, and checks the whole as nnU-Net's
// --verify_dataset_integrity does.
//
// # Layouts
//
//   - nnU-Net v2 (documentation/dataset_format.md of MIC-DKFZ/nnUNet):
//     imagesTr/CASE_0000.nii.gz (one file per channel, _XXXX its number),
//     labelsTr/CASE.nii.gz, and dataset.json with channel_names, labels
//     (name -> value), numTraining and file_ending; or the files listed under
//     dataset.json's "dataset" member.
//   - Medical Segmentation Decathlon: imagesTr/CASE.nii.gz,
//     labelsTr/CASE.nii.gz, dataset.json with modality, labels (value ->
//     name), numTraining and the "training" list of image and label paths.
//   - Plain: any other folder. Each NIfTI file in it is a case, and each
//     DICOM series in it or in a folder directly below it; a NIfTI file named
//     like a case with _labels, _label, _seg, _segmentation or _mask added
//     (scan.nii.gz, scan_seg.nii.gz; series folder CT1, CT1_labels.nii.gz) is
//     that case's label volume. A plain folder is read-only: Import (polyseg
//     dataset init) copies its cases into an nnU-Net layout.
//
// # Where the worklist lives
//
// Everything polyseg adds is in the folder polyseg/ inside the dataset,
// which nnU-Net and the Decathlon's readers never look at:
//
//   - polyseg/cases/CASE.json: the case's worklist state (status, who last
//     worked on it, editing time, note). One file per case, so annotators
//     working on different cases never write the same file; a case without
//     one is "to do".
//   - polyseg/locks/CASE.lock: the lock of a case open in an app (package
//     internal/lockfile: who, which host and process, since when; refreshed
//     every 30 s).
//   - polyseg/dataset.lock: held for the milliseconds it takes to read,
//     change and write dataset.json, by whichever process changes it.
//   - polyseg/pending/CASE.json: a case being added; left behind by an add
//     that was interrupted, which Check reports and a new add of the same
//     case finishes.
//
// # Invariants
//
//   - Every file is written atomically (internal/atomicfile: a temporary
//     file in the same folder, synced, renamed): after a crash at any point,
//     each file is its old or its new version, whole.
//   - A save never leaves the dataset failing Check: the label values it
//     brings are declared in dataset.json before the label file is
//     written, and dataset.json's labels are always the values 0 to the
//     largest, consecutive as nnU-Net requires, named from the caller's
//     colour table, else TotalSegmentator's (assets.DefaultColorTable), else
//     label_N. Names already declared are kept: the dataset is their
//     authority.
//   - Only the holder of a case's lock writes the case's labels or state;
//     the lock is checked just before each file is put in place.
//   - A lock held by someone else is never broken silently: Acquire reports
//     the holder and whether it looks gone (stale), and only TakeOver,
//     called with that holder once a person has confirmed, breaks it.
//   - Members of dataset.json polyseg does not maintain are kept as they
//     were, in their place.
package dataset
