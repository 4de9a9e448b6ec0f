"""The PyTorch side of `tasksr bench data`: the same input pipeline with PIL, torchvision and torch.utils.data.

Reads the tree that tasksr generated (image folder, VOC segmentation, COCO detection JSON), applies the trainer's
train preset with the same ops (classification: resize short side, random crop, flip; segmentation: resize short
side with nearest masks, random crop padded with 0/255, flip; detection: flip), makes uint8 tensors in the workers
(PILToTensor) and collates as the torchvision references do (stacked; a list for detection); the main process
converts images to float in [0, 1] and masks to int64, as tasksr's collate does. One untimed batch warms the
workers up (persistent between epochs), then one epoch is timed. With --step-ms the main process busy-waits that
long after each batch, as tasksr's overlap measurement does (a training step holding the main thread); with
--steady the clock starts when the first batch of the timed epoch arrives and that batch is not counted.
Prints one JSON line: {"images", "seconds", "images_per_s", "torch"}.
"""
import argparse
import json
import os
import random
import time

import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch.utils.data import DataLoader, Dataset


def short_side(img, size):
    w, h = img.size
    return (size, int(size * h / w)) if w <= h else (int(size * w / h), size)


class Classification(Dataset):
    def __init__(self, root, resize, crop):
        self.items = []
        for label, cls in enumerate(sorted(os.listdir(root))):
            for f in sorted(os.listdir(os.path.join(root, cls))):
                self.items.append((os.path.join(root, cls, f), label))
        self.resize, self.crop = resize, crop

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        img = Image.open(path).convert("RGB")
        w, h = short_side(img, self.resize)
        img = img.resize((w, h), Image.BILINEAR)
        x, y = random.randint(0, w - self.crop), random.randint(0, h - self.crop)
        img = img.crop((x, y, x + self.crop, y + self.crop))
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return TF.pil_to_tensor(img), label


class Segmentation(Dataset):
    def __init__(self, root, resize, crop):
        with open(os.path.join(root, "ImageSets", "Segmentation", "train.txt")) as fh:
            self.ids = [l.strip() for l in fh if l.strip()]
        self.root, self.resize, self.crop = root, resize, crop

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        img = Image.open(os.path.join(self.root, "JPEGImages", self.ids[i] + ".jpg")).convert("RGB")
        mask = Image.open(os.path.join(self.root, "SegmentationClass", self.ids[i] + ".png"))
        w, h = short_side(img, self.resize)
        img = img.resize((w, h), Image.BILINEAR)
        mask = mask.resize((w, h), Image.NEAREST)
        if w < self.crop or h < self.crop:
            img = TF.pad(img, [0, 0, max(0, self.crop - w), max(0, self.crop - h)], fill=0)
            mask = TF.pad(mask, [0, 0, max(0, self.crop - w), max(0, self.crop - h)], fill=255)
            w, h = img.size
        x, y = random.randint(0, w - self.crop), random.randint(0, h - self.crop)
        img = img.crop((x, y, x + self.crop, y + self.crop))
        mask = mask.crop((x, y, x + self.crop, y + self.crop))
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
            mask = mask.transpose(Image.FLIP_LEFT_RIGHT)
        return TF.pil_to_tensor(img), TF.pil_to_tensor(mask)[0]


class Detection(Dataset):
    def __init__(self, images, annotations):
        with open(annotations) as fh:
            coco = json.load(fh)
        boxes = {}
        for a in coco["annotations"]:
            boxes.setdefault(a["image_id"], []).append(a)
        self.items = [(os.path.join(images, im["file_name"]), boxes.get(im["id"], [])) for im in coco["images"]]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, anns = self.items[i]
        img = Image.open(path).convert("RGB")
        b = torch.tensor([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                          for a in anns], dtype=torch.float32).reshape(-1, 4)
        labels = torch.tensor([a["category_id"] - 1 for a in anns], dtype=torch.int64)
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
            w = img.size[0]
            b = torch.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], dim=1)
        return TF.pil_to_tensor(img), {"boxes": b, "labels": labels}


def list_collate(batch):
    return tuple(zip(*batch))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", required=True, choices=["classification", "segmentation", "detection"])
    p.add_argument("--root", required=True)
    p.add_argument("--images-dir")
    p.add_argument("--annotations")
    p.add_argument("--resize", type=int, default=0)
    p.add_argument("--crop", type=int, default=0)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--prefetch", type=int, default=2)
    p.add_argument("--step-ms", type=float, default=0)
    p.add_argument("--steady", action="store_true")
    a = p.parse_args()
    if a.task == "classification":
        ds = Classification(a.root, a.resize, a.crop)
    elif a.task == "segmentation":
        ds = Segmentation(a.root, a.resize, a.crop)
    else:
        ds = Detection(a.images_dir, a.annotations)
    extra = {"persistent_workers": True, "prefetch_factor": max(1, a.prefetch)} if a.workers > 0 else {}
    loader = DataLoader(ds, batch_size=a.batch, shuffle=True, num_workers=a.workers,
                        generator=torch.Generator().manual_seed(0),
                        collate_fn=list_collate if a.task == "detection" else None, **extra)

    def consume(batch):
        if a.task == "detection":
            images = [im.float().div(255) for im in batch[0]]
            return len(images)
        images, target = batch
        images = images.float().div(255)
        if a.task == "segmentation":
            target = target.long()
        return images.shape[0]

    for batch in loader:
        consume(batch)
        break
    t0 = time.perf_counter()
    n = 0
    first = True
    for batch in loader:
        if a.steady and first:
            consume(batch)
            t0 = time.perf_counter()
        else:
            n += consume(batch)
        first = False
        end = time.perf_counter() + a.step_ms / 1000
        while time.perf_counter() < end:
            pass
    seconds = time.perf_counter() - t0
    print(json.dumps({"images": n, "seconds": seconds, "images_per_s": n / seconds, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
