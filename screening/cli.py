
def main():
    pass
