"""Draw the application icon (resources/icons/latent-studio.png, 256 px) — run once; the PNG is committed."""

from pathlib import Path

from PIL import Image, ImageDraw

S = 256
img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
d = ImageDraw.Draw(img)
for r in range(S // 2, 0, -1):  # radial gradient disc: the latent "space"
    t = r / (S / 2)
    d.ellipse((S / 2 - r, S / 2 - r, S / 2 + r, S / 2 + r), fill=(int(40 + 60 * t), int(60 + 40 * t), int(140 + 90 * (1 - t)), 255))
for i, pos in enumerate((0.3, 0.65, 0.45)):  # three sliders
    y = S * (0.32 + 0.18 * i)
    d.rounded_rectangle((S * 0.2, y - 5, S * 0.8, y + 5), radius=5, fill=(235, 235, 245, 255))
    x = S * (0.2 + 0.6 * pos)
    d.ellipse((x - 16, y - 16, x + 16, y + 16), fill=(255, 190, 60, 255), outline=(60, 40, 10, 255), width=3)
out = Path(__file__).resolve().parent.parent / "resources" / "icons" / "latent-studio.png"
img.save(out)
print(out)
